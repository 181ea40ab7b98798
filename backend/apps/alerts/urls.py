from rest_framework.routers import DefaultRouter

from apps.alerts.views import SystemAlertViewSet

router = DefaultRouter()
router.register("system-alerts", SystemAlertViewSet, basename="system-alert")

urlpatterns = router.urls
