"""Routing's cost: a channel that nobody the event concerns uses is skipped with one EXISTS."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.integrations_external.models import Event
from apps.integrations_external.pipeline import channels, routing
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def _event(project, actor) -> Event:
    return Event.objects.create(
        type="workflow.completed", occurred_at=timezone.now(), project=project, actor=actor
    )


def test_a_channel_without_a_target_of_anyone_concerned_costs_one_exists(user, other_user, project):
    # Given webhook endpoints of someone outside the project only.
    WebhookEndpointFactory(owner=other_user)
    event = _event(project, user)
    people = routing.project_people(project)

    # When routing looks for the event's webhook targets.
    with CaptureQueriesContext(connection) as queries:
        targets = routing.targets_for(event, channels.get("webhook"), people)

    # Then there are none, found by one EXISTS without a join.
    assert targets == []
    [query] = [q["sql"] for q in queries.captured_queries]
    assert "JOIN" not in query.upper()
    assert "LIMIT 1" in query.upper()


def test_a_channel_with_a_possible_target_runs_the_full_rule(user, other_user, project):
    # Given an endpoint of an inactive project owner (a candidate the full rule turns down)
    # and an active member's endpoint.
    project.members.add(other_user)
    user.is_active = False
    user.save()
    WebhookEndpointFactory(owner=user)
    member_endpoint = WebhookEndpointFactory(owner=other_user)

    # When the project's event is routed.
    plan = routing.route(_event(project, other_user))

    # Then the full rule decided: only the active member's endpoint.
    assert [t.pk for t in plan["webhook"]] == [member_endpoint.pk]


def test_routing_an_event_reads_its_projects_members_once(user, other_user, project):
    # Given a project with a member and an endpoint each (email settings are made on the way).
    project.members.add(other_user)
    WebhookEndpointFactory(owner=user)
    WebhookEndpointFactory(owner=other_user)
    members_table = project.members.through._meta.db_table
    event = Event.objects.select_related("project").get(pk=_event(project, user).pk)

    # When the event is routed through every channel.
    with CaptureQueriesContext(connection) as queries:
        plan = routing.route(event)

    # Then the members were read once for all of them.
    assert len(plan["webhook"]) == 2
    reads = [q["sql"] for q in queries.captured_queries if members_table in q["sql"]]
    assert len(reads) == 1
