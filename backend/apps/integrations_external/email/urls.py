"""The email integration's resources on the API's router (core/urls.py), under
/api/v1/integrations-external/, and its one HTML page."""

from __future__ import annotations

from django.urls import path

from apps.integrations_external.email.views import EmailSettingsViewSet, unsubscribe

routes = [("email", EmailSettingsViewSet, "email")]

pages = [path("email/unsubscribe/<str:token>/", unsubscribe, name="email-unsubscribe")]
