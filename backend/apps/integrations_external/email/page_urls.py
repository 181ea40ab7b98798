"""The signed-in person's email pages (under /account/email/)."""

from django.urls import path

from apps.integrations_external.email import pages

urlpatterns = [
    path("", pages.email_settings, name="email-settings"),
    path("test/", pages.email_test, name="email-test"),
]
