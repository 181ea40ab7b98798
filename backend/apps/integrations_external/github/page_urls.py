"""The github pages of a project (under /projects/<project_pk>/integrations/github/)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
