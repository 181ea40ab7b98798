"""The slack pages of a project (under /projects/<project_pk>/integrations/slack/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
