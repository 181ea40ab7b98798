"""The integrations' pages (the API is in urls.py). Each provider's pages sit under the
project's Integrations tab, in the provider's own page_urls.py."""

from django.urls import include, path

from apps.integrations_external import pages

app_name = "integrations"

urlpatterns = [
    path("projects/<int:project_pk>/integrations/", pages.project_integrations, name="project"),
    path(
        "projects/<int:project_pk>/integrations/webhooks/",
        include("apps.integrations_external.webhooks.page_urls"),
    ),
    path(
        "projects/<int:project_pk>/integrations/slack/",
        include("apps.integrations_external.slack.page_urls"),
    ),
    path(
        "projects/<int:project_pk>/integrations/github/",
        include("apps.integrations_external.github.page_urls"),
    ),
    path("", include("apps.integrations_external.pipeline.page_urls")),
]
