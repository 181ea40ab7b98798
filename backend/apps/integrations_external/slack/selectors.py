"""Who sees which Slack integrations (read side of the API; permissions.py,
docs/permissions.md)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from apps.integrations_external.permissions import readable_q
from apps.integrations_external.slack.models import SlackIntegration


def slack_integrations_of(user: User) -> QuerySet[SlackIntegration]:
    return SlackIntegration.objects.filter(readable_q(user)).select_related("project")
