"""The Teams pages of a project (under /projects/<project_pk>/integrations/teams/)."""

from django.urls import path

from apps.integrations_external.teams import pages

urlpatterns = [
    path("new/", pages.teams_create, name="teams-create"),
    path("<int:pk>/", pages.teams_detail, name="teams-detail"),
    path("<int:pk>/verify/", pages.teams_verify, name="teams-verify"),
    path("<int:pk>/test-card/", pages.teams_test_card, name="teams-test-card"),
    path("<int:pk>/active/", pages.teams_set_active, name="teams-active"),
    path("<int:pk>/delete/", pages.teams_delete, name="teams-delete"),
]
