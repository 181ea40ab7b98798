"""The slack pages of a project (under /projects/<project_pk>/integrations/slack/)."""

from django.urls import path

from apps.integrations_external.slack import pages

urlpatterns = [
    path("new/", pages.slack_create, name="slack-create"),
    path("<int:pk>/", pages.slack_detail, name="slack-detail"),
    path("<int:pk>/verify/", pages.slack_verify, name="slack-verify"),
    path("<int:pk>/test-message/", pages.slack_test_message, name="slack-test-message"),
    path("<int:pk>/active/", pages.slack_set_active, name="slack-active"),
    path("<int:pk>/delete/", pages.slack_delete, name="slack-delete"),
]
