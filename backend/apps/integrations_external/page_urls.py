"""The integrations' pages (the API is in urls.py). Each provider's pages sit under the
project's Integrations tab, in the provider's own page_urls.py."""

from django.urls import include, path

from apps.integrations_external import pages
from apps.integrations_external.github import app_urls as github_app
from apps.integrations_external.slack import oauth_urls as slack_oauth

app_name = "integrations"

urlpatterns = [
    path("projects/<int:project_pk>/integrations/", pages.project_integrations, name="project"),
    *github_app.urlpatterns,
    *slack_oauth.urlpatterns,
    path(
        "projects/<int:project_pk>/integrations/webhooks/",
        include("apps.integrations_external.webhooks.page_urls"),
    ),
    path(
        "projects/<int:project_pk>/integrations/slack/",
        include("apps.integrations_external.slack.page_urls"),
    ),
    path(
        "projects/<int:project_pk>/integrations/teams/",
        include("apps.integrations_external.teams.page_urls"),
    ),
    path(
        "projects/<int:project_pk>/integrations/github/",
        include("apps.integrations_external.github.page_urls"),
    ),
    # A person's own email settings: not under a project.
    path("account/email/", include("apps.integrations_external.email.page_urls")),
    path("", include("apps.integrations_external.pipeline.page_urls")),
]
