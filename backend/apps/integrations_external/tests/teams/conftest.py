"""Fixtures of the Teams tests: a fake Teams Workflows webhook on loopback (every card checked
by Microsoft's Adaptive Cards implementation), and an integration posting to it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from apps.integrations_external.pipeline.tasks import deliver
from apps.integrations_external.teams.models import TeamsDelivery
from apps.integrations_external.tests.teams.factories import TeamsIntegrationFactory
from tests_support.fake_teams import FakeTeams, card_validator, fake_teams  # noqa: F401


@pytest.fixture
def teams(fake_teams: FakeTeams) -> FakeTeams:  # noqa: F811
    return fake_teams


@pytest.fixture
def integration(user, project, teams):
    return TeamsIntegrationFactory(owner=user, project=project, webhook_url=teams.url)


def run_now(delivery: TeamsDelivery) -> None:
    """Move the clock instead of sleeping: make the retry due now, then run it."""
    TeamsDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    deliver("teams", [delivery.pk])
    delivery.refresh_from_db()
