"""Add to Slack's pages (included by page_urls.py, namespace `integrations`)."""

from django.urls import path

from apps.integrations_external.slack import oauth_pages

urlpatterns = [
    path(
        "projects/<int:project_pk>/integrations/slack/add/",
        oauth_pages.slack_oauth_start,
        name="slack-oauth-start",
    ),
    path(
        "integrations/slack/oauth/callback/",
        oauth_pages.slack_oauth_callback,
        name="slack-oauth-callback",
    ),
]
