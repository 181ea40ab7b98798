"""Admin: each provider registers its own (webhooks/admin.py, slack/admin.py …)."""

from apps.integrations_external.email import admin as email  # noqa: F401
from apps.integrations_external.github import admin as github  # noqa: F401
from apps.integrations_external.slack import admin as slack  # noqa: F401
from apps.integrations_external.teams import admin as teams  # noqa: F401
from apps.integrations_external.webhooks import admin as webhooks  # noqa: F401
