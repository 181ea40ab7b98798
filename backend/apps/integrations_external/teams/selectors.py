"""Who sees which Teams integrations (permissions.py, docs/permissions.md)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet

from apps.integrations_external.permissions import readable_q
from apps.integrations_external.teams.models import TeamsDelivery, TeamsIntegration


def teams_integrations_of(user: User) -> QuerySet[TeamsIntegration]:
    return TeamsIntegration.objects.filter(readable_q(user)).select_related("project")


def teams_deliveries_of(integration: TeamsIntegration) -> QuerySet[TeamsDelivery]:
    return TeamsDelivery.objects.filter(integration=integration).prefetch_related("attempts")
