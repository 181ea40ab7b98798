"""The webhooks pages of a project (under /projects/<project_pk>/integrations/webhooks/)."""

from django.urls import path

from apps.integrations_external.webhooks import pages

urlpatterns = [
    path("", pages.webhook_list, name="webhook-list"),
    path("new/", pages.webhook_create, name="webhook-create"),
    path("<int:endpoint_pk>/", pages.webhook_detail, name="webhook-detail"),
    path("<int:endpoint_pk>/edit/", pages.webhook_edit, name="webhook-edit"),
    path("<int:endpoint_pk>/rotate-secret/", pages.webhook_rotate, name="webhook-rotate"),
    path("<int:endpoint_pk>/enable/", pages.webhook_enable, name="webhook-enable"),
    path("<int:endpoint_pk>/disable/", pages.webhook_disable, name="webhook-disable"),
    path("<int:endpoint_pk>/test/", pages.webhook_test, name="webhook-test"),
    path("<int:endpoint_pk>/delete/", pages.webhook_delete, name="webhook-delete"),
]
