"""The github pages of a project (under /projects/<project_pk>/integrations/github/)."""

from django.urls import path

from apps.integrations_external.github import pages

urlpatterns = [
    path("new/", pages.github_create, name="github-create"),
    path("<int:pk>/", pages.github_detail, name="github-detail"),
    path("<int:pk>/verify/", pages.github_verify, name="github-verify"),
    path("<int:pk>/create-webhook/", pages.github_create_webhook, name="github-create-webhook"),
    path("<int:pk>/sync/", pages.github_sync, name="github-sync"),
    path("<int:pk>/sync/status/", pages.github_sync_status, name="github-sync-status"),
    path("<int:pk>/active/", pages.github_set_active, name="github-active"),
    path("<int:pk>/delete/", pages.github_delete, name="github-delete"),
]
