"""The webhooks pages of a project (under /projects/<project_pk>/integrations/webhooks/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
