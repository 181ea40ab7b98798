"""The integrations' part of the API (registered on the one router by core/urls.py): `routes`
under /api/v1/integrations-external/ (URL names in the `integrations_external` namespace),
`root_routes` under /api/v1/ itself, and `pages`, the plain HTML pages."""

from apps.integrations_external.email import urls as email
from apps.integrations_external.github import urls as github
from apps.integrations_external.pipeline import urls as events
from apps.integrations_external.slack import urls as slack
from apps.integrations_external.teams import urls as teams
from apps.integrations_external.webhooks import urls as webhooks

NAMESPACE = "integrations_external"
PREFIX = "integrations-external/"

routes = [
    *webhooks.routes,
    *events.routes,
    *slack.routes,
    *teams.routes,
    *github.routes,
    *email.routes,
]
root_routes = [*github.story_routes]
# Plain Django views in the section (no ViewSet): signed callbacks from Slack and GitHub, the
# unsubscribe page. After the router's routes: the ViewSets take digits only as ids.
pages = [*email.pages, *slack.pages, *github.pages]
