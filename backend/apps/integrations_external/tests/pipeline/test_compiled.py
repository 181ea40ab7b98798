"""Querysets compiled once per shape and replayed with other values (pipeline/compiled.py)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.integrations_external.email.models import EmailNotificationSettings
from apps.integrations_external.models import Event, WebhookEndpoint
from apps.integrations_external.pipeline import channels, compiled, routing
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.projects.tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_plans():
    compiled._plans.clear()
    yield
    compiled._plans.clear()


def _endpoints_of(v):
    return WebhookEndpoint.objects.filter(owner_id__in=v["people"]).order_by("pk")


def test_fetch_replays_a_shape_with_other_values(user, other_user):
    # Given one endpoint each for two users.
    mine = WebhookEndpointFactory(owner=user)
    theirs = WebhookEndpointFactory(owner=other_user)

    # When the same shape (one person) is fetched for each.
    first = compiled.fetch("endpoints", _endpoints_of, {"people": [user.pk]})
    second = compiled.fetch("endpoints", _endpoints_of, {"people": [other_user.pk]})

    # Then each call got its own rows, from one compiled plan.
    assert [e.pk for e in first] == [mine.pk]
    assert [e.pk for e in second] == [theirs.pk]
    assert len(compiled._plans) == 1


def test_fetch_builds_instances_as_the_queryset_does(user):
    # Given an endpoint with headers (a JSON field, read through its converter) and a secret.
    endpoint = WebhookEndpointFactory(owner=user, headers={"X-Team": "blue"})

    # When fetched through a compiled plan (the second call replays it).
    compiled.fetch("endpoints", _endpoints_of, {"people": [user.pk]})
    [replayed] = compiled.fetch("endpoints", _endpoints_of, {"people": [user.pk]})
    [loaded] = list(_endpoints_of({"people": [user.pk]}))

    # Then every field is what the ORM loads, and the instance saves as an existing row.
    for field in WebhookEndpoint._meta.concrete_fields:
        assert getattr(replayed, field.attname) == getattr(loaded, field.attname), field.name
    assert replayed._state.adding is False
    assert replayed.headers == {"X-Team": "blue"}
    replayed.name = "renamed"
    replayed.save()
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).name == "renamed"


def test_fetch_fills_select_related_without_another_query(user):
    # Given a user's email settings.
    EmailNotificationSettings.objects.get_or_create(user=user)

    def build(v):
        return EmailNotificationSettings.objects.select_related("user").filter(user_id=v["user"])

    compiled.fetch("settings", build, {"user": user.pk})

    # When a replayed row's user is read.
    with CaptureQueriesContext(connection) as queries:
        [row] = compiled.fetch("settings", build, {"user": user.pk})
        username = row.user.username

    # Then it came with the row: one query in all.
    assert username == user.username
    assert len(queries.captured_queries) == 1


def test_fetch_gives_flat_values_and_tuples(user, other_user):
    def flat(v):
        return (
            get_user_model()
            .objects.filter(pk__in=v["ids"])
            .order_by("pk")
            .values_list("pk", flat=True)
        )

    def pairs(v):
        return (
            get_user_model()
            .objects.filter(pk__in=v["ids"])
            .order_by("pk")
            .values_list("pk", "is_staff")
        )

    ids = sorted([user.pk, other_user.pk])
    for _ in range(2):  # compiled, then replayed
        assert compiled.fetch("flat", flat, {"ids": ids}) == ids
        assert compiled.fetch("pairs", pairs, {"ids": ids}) == [(pk, False) for pk in ids]


def test_a_list_of_another_length_is_another_shape(user, other_user):
    # Given endpoints of two users.
    WebhookEndpointFactory(owner=user)
    WebhookEndpointFactory(owner=other_user)

    # When fetched for one, then for both.
    one = compiled.fetch("endpoints", _endpoints_of, {"people": [user.pk]})
    both = compiled.fetch("endpoints", _endpoints_of, {"people": [user.pk, other_user.pk]})

    # Then each length has its plan and its rows.
    assert (len(one), len(both)) == (1, 2)
    assert len(compiled._plans) == 2


def test_an_empty_list_matches_nothing_without_a_query(user):
    WebhookEndpointFactory(owner=user)
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert compiled.fetch("endpoints", _endpoints_of, {"people": []}) == []
        assert queries.captured_queries == []


def test_a_value_for_a_positive_column_is_matched_not_taken_for_empty(user):
    # Given an endpoint with a limit of 7 in flight (a positive small integer column, whose
    # range a negative stand-in falls outside of: Django answers that with EmptyResultSet).
    endpoint = WebhookEndpointFactory(owner=user, max_in_flight=7)

    def by_limit(v):
        return WebhookEndpoint.objects.filter(max_in_flight=v["limit"]).values_list("pk", flat=True)

    # Then the shape runs through the ORM and finds it, every time.
    for _ in range(2):
        assert compiled.fetch("by-limit", by_limit, {"limit": 7}) == [endpoint.pk]
    assert compiled.fetch("by-limit", by_limit, {"limit": 8}) == []


def test_a_queryset_it_cannot_replay_runs_through_the_orm_each_time(user, other_user):
    # Given an annotated queryset (not replayed) and a value its filters never read.
    WebhookEndpointFactory(owner=user)

    def annotated(v):
        return (
            get_user_model()
            .objects.filter(pk=v["user"])
            .annotate(n=Count("pk"))
            .values_list("pk", "n")
        )

    def unused_value(v):
        return WebhookEndpoint.objects.filter(owner_id=user.pk)

    # Then both still give the ORM's rows, for whatever values they are given.
    assert compiled.fetch("annotated", annotated, {"user": user.pk}) == [(user.pk, 1)]
    assert compiled.fetch("annotated", annotated, {"user": other_user.pk}) == [(other_user.pk, 1)]
    assert len(compiled.fetch("unused", unused_value, {"ignored": 7})) == 1
    assert set(compiled._plans.values()) == {compiled._UNCACHED}


def test_plans_kept_are_bounded(user, monkeypatch):
    monkeypatch.setattr(compiled, "MAX_SHAPES", 3)
    for n in range(1, 6):
        compiled.fetch("endpoints", _endpoints_of, {"people": [user.pk] * n})
    assert len(compiled._plans) == 3


def _event(project, actor, event_type="workflow.completed") -> Event:
    return Event.objects.create(
        type=event_type, occurred_at=timezone.now(), project=project, actor=actor
    )


def test_routing_two_projects_of_one_shape_reaches_each_projects_own_targets(user, other_user):
    # Given two projects of one person each, with an endpoint each (and email settings).
    first, second = ProjectFactory(owner=user), ProjectFactory(owner=other_user)
    mine = WebhookEndpointFactory(owner=user)
    theirs = WebhookEndpointFactory(owner=other_user)

    # When an event of each is routed (the second replays the first's plans).
    plans = [routing.route(_event(first, user)), routing.route(_event(second, other_user))]

    # Then each reached its own project's people only.
    assert [t.pk for t in plans[0]["webhook"]] == [mine.pk]
    assert [t.pk for t in plans[1]["webhook"]] == [theirs.pk]
    assert [t.user_id for t in plans[0]["email"]] == [user.pk]
    assert [t.user_id for t in plans[1]["email"]] == [other_user.pk]


def test_routing_replayed_keeps_project_scope_and_staff(user, other_user, staff_user):
    # Given staff endpoints scoped to each of two one-person projects.
    first, second = ProjectFactory(owner=user), ProjectFactory(owner=other_user)
    for_first = WebhookEndpointFactory(owner=staff_user, project=first)
    for_second = WebhookEndpointFactory(owner=staff_user, project=second)
    webhook = channels.get("webhook")

    # When each project's event is routed to webhooks.
    reached = [
        [t.pk for t in routing.targets_for(_event(project, None), webhook)]
        for project in (first, second)
    ]

    # Then each reached the endpoint scoped to it.
    assert reached == [[for_first.pk], [for_second.pk]]


def test_routing_replayed_for_actors_reaches_each_actors_own(user, other_user):
    # Given custom events without a project (only the publisher's own targets).
    mine = WebhookEndpointFactory(owner=user, custom_events=["deploy.done"])
    theirs = WebhookEndpointFactory(owner=other_user, custom_events=["deploy.done"])
    webhook = channels.get("webhook")

    # When each user publishes one.
    reached = [
        [t.pk for t in routing.targets_for(_event(None, actor, "deploy.done"), webhook)]
        for actor in (user, other_user)
    ]

    # Then each reached their own endpoint.
    assert reached == [[mine.pk], [theirs.pk]]


def test_email_settings_are_made_for_each_projects_people(user):
    # Given two projects whose people have no email settings yet.
    people = [UserFactory(), UserFactory()]
    projects = [ProjectFactory(owner=p) for p in people]
    EmailNotificationSettings.objects.filter(user__in=people).delete()

    # When an event of each is routed (the second replays the first's plans).
    for project, person in zip(projects, people, strict=True):
        routing.route(_event(project, person))

    # Then each person got their settings row.
    assert set(
        EmailNotificationSettings.objects.filter(user__in=people).values_list("user_id", flat=True)
    ) == {p.pk for p in people}


def test_fetch_replays_text_keys_and_refuses_other_types(user, project):
    # Given two events (their keys are text).
    events = [_event(project, user), _event(project, user)]

    def build(v):
        return Event.objects.select_related("project").filter(pk=v["event"])

    # When each is fetched by its key through one plan.
    found = [compiled.fetch("event", build, {"event": e.pk}) for e in events]

    # Then each got itself, with its project; a value of another type is refused.
    assert [[e.pk for e in rows] for rows in found] == [[e.pk] for e in events]
    assert found[1][0].project == project
    assert len(compiled._plans) == 1
    with pytest.raises(TypeError):
        compiled.fetch("event", build, {"event": 1.5})
