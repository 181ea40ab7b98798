"""The alerts app's resources, registered on the API's one router by core/urls.py."""

from apps.alerts.views import SystemAlertViewSet

routes = [("system-alerts", SystemAlertViewSet, "system-alert")]
