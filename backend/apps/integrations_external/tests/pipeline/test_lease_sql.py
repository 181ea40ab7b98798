"""The claim's plain-SQL statements (pipeline/lease_sql.py) against the ORM's idea of the same
rows: due means what `engine.due_q` means, and the winners come back with their targets."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseOperations as SQLiteOperations
from django.db.models import signals
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline import engine, lease_sql
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)
from apps.integrations_external.webhooks.channel import CHANNEL


def _states(ids: list[int]) -> None:
    """Put the deliveries `ids` (at least 8) in every state the due filter tells apart."""
    now = timezone.now()
    later, earlier = now + timedelta(minutes=5), now - timedelta(minutes=5)
    rows = WebhookDelivery.objects.filter
    rows(pk=ids[0]).update(status="pending", next_attempt_at=None)
    rows(pk=ids[1]).update(status="retrying", next_attempt_at=earlier)
    rows(pk=ids[2]).update(status="retrying", next_attempt_at=later)
    rows(pk=ids[3]).update(status="success", next_attempt_at=None)
    rows(pk=ids[4]).update(status="failed", next_attempt_at=earlier)
    rows(pk=ids[5]).update(status="pending", locked_until=later, lease_token="x")
    rows(pk=ids[6]).update(status="pending", locked_until=earlier, lease_token="x")
    rows(pk=ids[7]).update(status="pending", next_attempt_at=now)


@pytest.mark.django_db
def test_due_with_limits_matches_the_engines_due_filter(user, project):
    endpoint = WebhookEndpointFactory(owner=user, max_in_flight=10, rate_limit=None)
    ids = record_webhook_deliveries(project, user, [endpoint] * 9)
    _states(ids)
    now = timezone.now()

    found = lease_sql.due_with_limits(WebhookDelivery, ids, now, CHANNEL.limit_fields)

    expected = WebhookDelivery.objects.filter(engine.due_q(now), pk__in=ids).order_by("pk")
    assert [row[0] for row in found] == list(expected.values_list("pk", flat=True))
    assert [row[0] for row in found] == [ids[0], ids[1], ids[6], ids[7], ids[8]]
    assert {row[1:] for row in found} == {(endpoint.pk, 10, None)}  # the endpoint's limits


@pytest.mark.django_db
def test_lease_takes_only_due_rows_and_postpone_only_due_rows(user, project):
    endpoint = WebhookEndpointFactory(owner=user)
    ids = record_webhook_deliveries(project, user, [endpoint] * 9)
    _states(ids)
    now = timezone.now()
    until = now + timedelta(seconds=60)

    taken = lease_sql.lease(WebhookDelivery, ids[:4], now, until, "tok")
    lease_sql.postpone(WebhookDelivery, ids[4:], now, now + timedelta(seconds=3))

    assert [row[0] for row in taken] == ids[:2]  # ids[0] and ids[1]: the others are not due
    leased = WebhookDelivery.objects.filter(lease_token="tok").order_by("pk")
    assert list(leased.values_list("pk", flat=True)) == ids[:2]
    assert all(d.locked_until == until for d in leased)
    postponed = WebhookDelivery.objects.filter(next_attempt_at=now + timedelta(seconds=3))
    assert sorted(postponed.values_list("pk", flat=True)) == [ids[6], ids[7], ids[8]]
    # Not due ones keep their state: the one leased by someone else keeps its lease.
    assert WebhookDelivery.objects.get(pk=ids[5]).lease_token == "x"


@pytest.mark.django_db
def test_leases_by_target_count_live_leases_only(user, project):
    busy, idle = WebhookEndpointFactory(owner=user), WebhookEndpointFactory(owner=user)
    ids = record_webhook_deliveries(project, user, [busy] * 3 + [idle])
    now = timezone.now()
    WebhookDelivery.objects.filter(pk__in=ids[:2]).update(locked_until=now + timedelta(seconds=9))
    WebhookDelivery.objects.filter(pk=ids[2]).update(locked_until=now - timedelta(seconds=1))

    assert lease_sql.leases_by_target(WebhookDelivery, [busy.pk, idle.pk], now) == {busy.pk: 2}


@pytest.mark.django_db
def test_lease_returns_the_winners_loaded_as_the_orm_loads_them(user, project):
    first = WebhookEndpointFactory(owner=user, headers={"X-Token": "t"})
    second = WebhookEndpointFactory(owner=user)
    ids = record_webhook_deliveries(project, user, [first, second, first, second])
    WebhookDelivery.objects.filter(pk=ids[3]).update(status="success")  # not due: not won
    now = timezone.now()
    until = now + timedelta(seconds=60)

    with CaptureQueriesContext(connection) as queries:
        rows = lease_sql.lease(WebhookDelivery, ids, now, until, "won")
        won = lease_sql.leased_deliveries(WebhookDelivery, rows, CHANNEL.target_fields)
        targets = [(d.endpoint.pk, d.endpoint.url, d.endpoint.secret) for d in won]

    assert [d.pk for d in won] == ids[:3]
    assert targets == [(e.pk, e.url, e.secret) for e in (first, second, first)]
    assert won[0].endpoint is won[2].endpoint  # one instance per target
    assert won[0].endpoint.headers == {"X-Token": "t"}  # decrypted, as the ORM loads it
    assert len(queries) == 2  # the lease returning its rows, then their targets once
    for delivery in won:  # every field as a queryset gives it, the lease included
        stored = WebhookDelivery.objects.get(pk=delivery.pk)
        for field in WebhookDelivery._meta.concrete_fields:
            assert getattr(delivery, field.attname) == getattr(stored, field.attname), field.name
        assert (delivery.lease_token, delivery.locked_until) == ("won", until)


@pytest.mark.django_db
def test_leased_deliveries_skip_those_whose_target_is_gone(user, project):
    kept, gone = WebhookEndpointFactory(owner=user), WebhookEndpointFactory(owner=user)
    ids = record_webhook_deliveries(project, user, [kept, gone])
    now = timezone.now()
    rows = lease_sql.lease(WebhookDelivery, ids, now, now + timedelta(seconds=60), "won")

    # The race: the target row vanishes between the lease and the read (its deliveries would
    # follow by CASCADE; the constraint is checked at commit, so the test can hold this state).
    type(gone).objects.filter(pk=gone.pk)._raw_delete(connection.alias)

    assert [d.pk for d in lease_sql.leased_deliveries(WebhookDelivery, rows, None)] == [ids[0]]
    WebhookDelivery.objects.filter(pk=ids[1])._raw_delete(connection.alias)  # what CASCADE does


@pytest.mark.django_db
def test_claim_send_and_record_need_no_query_per_delivery(user, project, receiver):
    # Given 20 due deliveries, each to its own endpoint, of a receiver that answers 200
    endpoints = [WebhookEndpointFactory(owner=user, url=receiver.url) for _ in range(20)]
    ids = record_webhook_deliveries(project, user, endpoints)

    # When one worker call claims, sends and records them
    with CaptureQueriesContext(connection) as queries:
        processed = engine.process(CHANNEL, ids)

    # Then every one succeeded, and the statements do not grow with the deliveries: a field
    # that sending reads but `target_fields` leaves out would load once per endpoint
    assert processed.done == 20
    assert WebhookDelivery.objects.filter(pk__in=ids, status="success").count() == 20
    assert len(queries) < 20, [q["sql"][:80] for q in queries]


@pytest.mark.django_db
def test_leased_instances_behave_as_loaded_ones(user, project):
    endpoint = WebhookEndpointFactory(owner=user)
    ids = record_webhook_deliveries(project, user, [endpoint])
    now = timezone.now()
    rows = lease_sql.lease(WebhookDelivery, ids, now, now + timedelta(seconds=60), "won")

    [delivery] = lease_sql.leased_deliveries(WebhookDelivery, rows, CHANNEL.target_fields)

    assert (delivery._state.adding, delivery._state.db) == (False, "default")
    assert delivery.get_deferred_fields() == set()
    target = delivery.endpoint
    loaded = {f.attname for f in type(target)._meta.concrete_fields} - target.get_deferred_fields()
    assert loaded == {"id", *CHANNEL.target_fields}
    assert target.name == endpoint.name  # a field not read loads on first use
    delivery.response_body = "saved"
    delivery.save(update_fields=["response_body"])  # an UPDATE, not an INSERT
    assert WebhookDelivery.objects.get(pk=ids[0]).response_body == "saved"


@pytest.mark.django_db
def test_leased_instances_go_through_init_when_someone_listens(user, project):
    ids = record_webhook_deliveries(project, user, [WebhookEndpointFactory(owner=user)] * 2)
    now = timezone.now()
    rows = lease_sql.lease(WebhookDelivery, ids, now, now + timedelta(seconds=60), "won")
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance)

    signals.post_init.connect(listener, sender=WebhookDelivery)
    try:
        won = lease_sql.leased_deliveries(WebhookDelivery, rows, None)
    finally:
        signals.post_init.disconnect(listener, sender=WebhookDelivery)

    assert [d.pk for d in seen] == [d.pk for d in won] == ids


@pytest.mark.parametrize(
    "stored",
    [
        "2026-12-06 03:37:17.190000",
        "2026-12-06 03:37:17",
        "2026-12-06T03:37:17.000001",
        "2026-12-06 03:37:17+00:00",
        "2026-12-06 04:37:17.5+01:00",
        datetime(2026, 12, 6, 3, 37, 17),
        None,
    ],
)
def test_sqlite_dates_read_as_the_orm_reads_them(stored):
    # SQLite's own converter, whichever database runs the suite (it reads only the time zone).
    django_reads = SQLiteOperations(connection).convert_datetimefield_value

    fast = lease_sql._sqlite_datetime(stored, None, connection)

    assert fast == django_reads(stored, None, connection)
    if stored is not None:
        assert fast is not None
        assert fast.tzinfo == UTC or "+" in str(stored)


@pytest.mark.django_db
def test_leased_deliveries_of_one_event_share_their_decoded_payload(user, project):
    # Given two events' deliveries to two endpoints each.
    endpoints = [WebhookEndpointFactory(owner=user) for _ in range(2)]
    ids = record_webhook_deliveries(project, user, endpoints)
    ids += record_webhook_deliveries(project, user, endpoints)
    now = timezone.now()
    rows = lease_sql.lease(WebhookDelivery, ids, now, now + timedelta(seconds=60), "won")

    # When they are built from the lease's rows.
    first, second, third, fourth = lease_sql.leased_deliveries(
        WebhookDelivery, rows, CHANNEL.target_fields
    )

    # Then one event's deliveries hold one payload object, decoded once; the other event's
    # deliveries hold their own, and each is what the ORM loads.
    assert first.payload is second.payload
    assert third.payload is fourth.payload
    assert first.payload is not third.payload
    for delivery in (first, third):
        assert delivery.payload == WebhookDelivery.objects.get(pk=delivery.pk).payload
    assert first.payload["id"] != third.payload["id"]
