"""`/api/v1/integrations-external/`: each part of the integrations declares its own routes."""

from apps.integrations_external.email import urls as email
from apps.integrations_external.github import urls as github
from apps.integrations_external.pipeline import urls as events
from apps.integrations_external.slack import urls as slack
from apps.integrations_external.teams import urls as teams
from apps.integrations_external.webhooks import urls as webhooks

app_name = "integrations_external"

urlpatterns = [
    *webhooks.urlpatterns,
    *events.urlpatterns,
    *slack.urlpatterns,
    *teams.urlpatterns,
    *github.urlpatterns,
    *email.urlpatterns,
]
