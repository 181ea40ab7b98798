"""rows.insert_values / insert_rows: plain-row inserts (executemany, or COPY on PostgreSQL) store
what the ORM would, each shared value prepared once."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.integrations_external.models import (
    Event,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from apps.integrations_external.pipeline import rows
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db

# Every character COPY's text format escapes, and some it must not mangle.
AWKWARD = 'tab\there\nnewline\\backslash "quote" \\N é ✓ \r'


def _event(data: dict | None = None) -> Event:
    now = timezone.now()
    return Event.objects.create(type="workflow.completed", occurred_at=now, data=data or {})


def test_insert_values_fills_defaults_and_one_clock_reading_per_batch(user):
    # Given three rows that name only the event, type, payload and endpoint.
    endpoints = [WebhookEndpointFactory(owner=user) for _ in range(3)]
    event = _event({"k": AWKWARD})
    envelope = event.envelope()
    before = timezone.now()

    # When they are inserted as plain rows.
    rows.insert_values(
        WebhookDelivery,
        [
            {"event_id": event.pk, "event_type": "workflow.completed", "payload": envelope}
            | {"endpoint_id": e.pk}
            for e in endpoints
        ],
    )

    # Then each row holds the defaults Model() would give, and the shared payload intact.
    stored = list(WebhookDelivery.objects.filter(event=event).order_by("pk"))
    assert [d.endpoint_id for d in stored] == [e.pk for e in endpoints]
    for delivery in stored:
        assert delivery.payload == envelope
        assert delivery.status == "pending"
        assert delivery.attempt_number == 0
        assert delivery.lease_token == ""
        assert delivery.next_attempt_at is None
        assert delivery.redelivery_of_id is None
        assert delivery.webhook_id.startswith("msg_")
        assert before <= delivery.created_at <= timezone.now()
    # A callable default is called per row (each message its own idempotency key); the clock
    # is read once for the batch.
    assert len({d.webhook_id for d in stored}) == 3
    assert len({d.created_at for d in stored}) == len({d.updated_at for d in stored}) == 1


def test_insert_values_prepares_distinct_objects_separately(user):
    # Given rows whose payloads are equal-looking runs of distinct and shared objects.
    endpoint = WebhookEndpointFactory(owner=user)
    event = _event()
    shared = {"n": 1}
    payloads = [shared, shared, {"n": 2}, shared, {"n": 3, "text": AWKWARD}]

    # When they are inserted.
    rows.insert_values(
        WebhookDelivery,
        [
            {"event_id": event.pk, "event_type": "t", "payload": p, "endpoint_id": endpoint.pk}
            for p in payloads
        ],
    )

    # Then each row stored its own value, whatever its neighbours held.
    stored = WebhookDelivery.objects.filter(event=event).order_by("pk")
    assert [d.payload for d in stored] == payloads


def test_insert_values_rejects_a_name_that_is_no_column(user):
    event = _event()
    with pytest.raises(TypeError, match="endpoint"):
        rows.insert_values(WebhookDelivery, [{"event_id": event.pk, "endpoint": 1}])


def test_insert_rows_stores_objects_and_sets_their_clock_fields(user):
    # Given two attempts of a delivery, with text COPY must escape and JSON headers.
    endpoint = WebhookEndpointFactory(owner=user)
    event = _event()
    rows.insert_values(
        WebhookDelivery,
        [{"event_id": event.pk, "event_type": "t", "payload": {}, "endpoint_id": endpoint.pk}],
    )
    delivery = WebhookDelivery.objects.get(event=event)
    started = timezone.now() - timedelta(seconds=5)
    headers = {"X-Weird": AWKWARD}
    attempts = [
        WebhookDeliveryAttempt(
            delivery=delivery,
            attempt_number=n,
            started_at=started + timedelta(seconds=n),
            outcome="retry",
            response_status=None if n == 1 else 500,
            response_body=AWKWARD,
            request_headers=headers,
        )
        for n in (1, 2)
    ]

    # When they are inserted as rows.
    rows.insert_rows(WebhookDeliveryAttempt, attempts)

    # Then the table holds them as given.
    stored = list(delivery.attempts.order_by("attempt_number"))
    assert [(a.attempt_number, a.response_status) for a in stored] == [(1, None), (2, 500)]
    assert [a.started_at for a in stored] == [a.started_at for a in attempts]
    assert all(a.response_body == AWKWARD and a.request_headers == headers for a in stored)


def test_insert_rows_reads_the_clock_once_and_sets_it_on_every_object(user):
    # Given two unsaved deliveries (created_at and updated_at are auto_now*).
    endpoint = WebhookEndpointFactory(owner=user)
    event = _event()
    objs = [
        WebhookDelivery(event=event, event_type="t", payload={}, endpoint=endpoint)
        for _ in range(2)
    ]

    # When they are inserted.
    rows.insert_rows(WebhookDelivery, objs)

    # Then both objects and both rows carry the one reading of each field.
    assert objs[0].created_at is not None
    assert objs[0].created_at == objs[1].created_at
    assert objs[0].updated_at == objs[1].updated_at
    stored = WebhookDelivery.objects.filter(event=event)
    assert {(d.created_at, d.updated_at) for d in stored} == {
        (objs[0].created_at, objs[0].updated_at)
    }


def test_inserts_use_copy_on_postgresql_and_executemany_elsewhere(user):
    # Given one delivery row.
    endpoint = WebhookEndpointFactory(owner=user)
    event = _event()
    row = {"event_id": event.pk, "event_type": "t", "payload": {}, "endpoint_id": endpoint.pk}

    # When it is inserted.
    with CaptureQueriesContext(connection) as queries:
        rows.insert_values(WebhookDelivery, [row])

    # Then one statement wrote it: a COPY on PostgreSQL, an INSERT elsewhere.
    [statement] = [q["sql"] for q in queries.captured_queries]
    assert ("COPY " if connection.vendor == "postgresql" else "INSERT ") in statement
    assert WebhookDelivery.objects.filter(event=event).count() == 1


def test_update_by_pk_sets_values_and_adds_to_counters_in_one_statement(user):
    first, second, other = (WebhookEndpointFactory(owner=user) for _ in range(3))
    type(first).objects.filter(pk=second.pk).update(success_count=5, consecutive_failures=3)
    now = timezone.now()

    with CaptureQueriesContext(connection) as queries:
        rows.update_by_pk(
            type(first),
            [second.pk, first.pk],
            values={"last_triggered_at": now, "failing_since": None},
            add={"success_count": 2, "consecutive_failures": 1},
        )

    assert len(queries) == 1
    counts = dict(
        type(first).objects.values_list("pk", "success_count").filter(pk__in=[first.pk, second.pk])
    )
    assert counts == {first.pk: 2, second.pk: 7}
    second.refresh_from_db()
    assert (second.consecutive_failures, second.last_triggered_at) == (4, now)
    other.refresh_from_db()
    assert (other.success_count, other.last_triggered_at) == (0, None)  # not named: untouched


def test_update_by_pk_of_no_rows_runs_nothing(user):
    with CaptureQueriesContext(connection) as queries:
        rows.update_by_pk(WebhookDelivery, [], values={"status": "failed"})
    assert len(queries) == 0


def test_insert_values_converts_values_of_another_type_as_the_orm_does(user):
    endpoint = WebhookEndpointFactory(owner=user)
    event = _event()

    rows.insert_values(
        WebhookDelivery,
        [
            {"event_id": event.pk, "endpoint_id": endpoint.pk, "response_status": "404"},
            {"event_id": event.pk, "endpoint_id": endpoint.pk, "response_status": 200},
        ],
    )

    stored = WebhookDelivery.objects.filter(event=event).order_by("pk")
    assert list(stored.values_list("response_status", flat=True)) == [404, 200]


def test_insert_rows_encrypts_text_of_an_encrypted_field(user):
    endpoint = WebhookEndpoint(owner=user, name="e", url="https://example.com/h", secret="plain")

    rows.insert_rows(WebhookEndpoint, [endpoint])

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT secret FROM {WebhookEndpoint._meta.db_table} WHERE name = 'e'")
        (column,) = cursor.fetchone()
    assert "plain" not in column
    assert WebhookEndpoint.objects.get(name="e").secret == "plain"


def _updated(user, count: int) -> list[WebhookDelivery]:
    endpoint = WebhookEndpointFactory(owner=user)
    event = _event()
    common = {"event_id": event.pk, "event_type": "t", "payload": {}, "endpoint_id": endpoint.pk}
    rows.insert_values(WebhookDelivery, [dict(common) for _ in range(count)])
    return list(WebhookDelivery.objects.filter(event=event).order_by("pk"))


def test_update_rows_stores_each_rows_own_values_of_every_kind(user):
    # Given three rows, each set to different values: text COPY-awkward or empty, integers,
    # nulls and times, JSON of several shapes.
    first, second, third = _updated(user, 3)
    now = timezone.now()
    first.status, first.attempt_number, first.next_attempt_at = "success", 1, None
    first.response_status, first.response_body, first.completed_at = 200, AWKWARD, now
    first.payload = {"nested": {"list": [1, "two", None]}, "text": AWKWARD}
    second.status, second.attempt_number, second.next_attempt_at = "retrying", 2, now
    second.response_status, second.response_body, second.completed_at = None, "", None
    second.payload = ["a", 1]
    third.status, third.payload = "failed", "just text"
    names = ["status", "attempt_number", "next_attempt_at", "response_status", "response_body"]
    names += ["completed_at", "payload"]

    # When they are written back in one call.
    rows.update_rows(WebhookDelivery, [first, second, third], names)

    # Then each row holds its own values, as the ORM reads them.
    for delivery in (first, second, third):
        stored = WebhookDelivery.objects.get(pk=delivery.pk)
        assert [getattr(stored, n) for n in names] == [getattr(delivery, n) for n in names]


def test_update_rows_is_one_statement_of_one_text_on_postgresql(require_postgres, user):
    # Given batches of two and of three rows.
    texts = []
    for count in (2, 3):
        deliveries = _updated(user, count)
        for delivery in deliveries:
            delivery.status = "success"

        # When each is written back.
        with CaptureQueriesContext(connection) as queries:
            rows.update_rows(WebhookDelivery, deliveries, ["status", "updated_at"])

        # Then one statement wrote the batch (not one executed per row, which Django's debug
        # cursor records as "N times: UPDATE …").
        [statement] = queries.captured_queries
        assert statement["sql"].startswith("UPDATE ")
        texts.append(statement["sql"].split(" FROM ")[0])
        stored = WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries])
        assert set(stored.values_list("status", flat=True)) == {"success"}
    # And its text did not depend on the count (psycopg prepares it once per connection).
    assert texts[0] == texts[1]


def test_among_finds_the_rows_of_integer_keys(user):
    endpoints = [WebhookEndpointFactory(owner=user) for _ in range(3)]
    wanted = [endpoints[2].pk, endpoints[0].pk]
    table = connection.ops.quote_name(WebhookEndpoint._meta.db_table)

    where, params = rows.among(WebhookEndpoint, "id", wanted)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE {where} ORDER BY id", params)
        found = [row[0] for row in cursor.fetchall()]

    assert found == sorted(wanted)
    if connection.vendor == "postgresql":  # one text parameter, not a list psycopg dumps
        assert params == [rows.int_array(wanted)]


def test_int_array_is_a_postgresql_array_literal_of_integers():
    assert rows.int_array([3, 10, 2]) == "{3,10,2}"
    assert rows.int_array([]) == "{}"
