"""`/api/v1/integrations-external/`: each part of the integrations declares its own routes."""

from apps.integrations_external.views import email, events, github, slack, webhooks

app_name = "integrations_external"

urlpatterns = [
    *webhooks.urlpatterns,
    *events.urlpatterns,
    *slack.urlpatterns,
    *github.urlpatterns,
    *email.urlpatterns,
]
