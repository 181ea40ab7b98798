"""The email integration's routes (under /api/v1/integrations-external/)."""

from __future__ import annotations

from django.urls import path

from apps.integrations_external.email.views import (
    EmailDeliveryListView,
    EmailSettingsView,
    TestEmailView,
    unsubscribe,
)

urlpatterns: list = [
    path(
        "email/",
        EmailSettingsView.as_view(http_method_names=["get", "put", "patch", "options"]),
        name="email-settings",
    ),
    path("email/test-email/", TestEmailView.as_view(), name="email-test"),
    path("email/deliveries/", EmailDeliveryListView.as_view(), name="email-deliveries"),
    path("email/unsubscribe/<str:token>/", unsubscribe, name="email-unsubscribe"),
]
