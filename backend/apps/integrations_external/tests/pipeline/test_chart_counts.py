"""The log's 24-hour chart counts the same whichever way the database is asked (issue 14): one
statement grouped by hour on PostgreSQL, a query per hour on SQLite. On PostgreSQL that one
statement reads the endpoint's (endpoint, status, created_at) index, never its rows.

Plans come from `plans.plan_nodes`, with `enable_seqscan` off, as in test_history_plans.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline import channels
from apps.integrations_external.pipeline.delivery_log import (
    counts_by_hour,
    counts_hour_by_hour,
    hourly_outcomes,
)
from apps.integrations_external.tests.pipeline.plans import plan_nodes
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)

pytestmark = pytest.mark.django_db

DELIVERIES = "integrations_external_webhookdelivery"
NOW = datetime(2026, 12, 5, 14, 37, 12, tzinfo=UTC)
HOUR = NOW.replace(minute=0, second=0, microsecond=0)  # the current hour, the chart's last


def _deliveries(project, user, endpoint, placed: list[tuple[datetime, str]]) -> None:
    ids = [record_webhook_deliveries(project, user, [endpoint])[0] for _ in placed]
    for pk, (created_at, status) in zip(ids, placed, strict=True):
        WebhookDelivery.objects.filter(pk=pk).update(created_at=created_at, status=status)


@pytest.fixture
def history(user, project):
    """An endpoint's deliveries in, and just out of, the chart's 24 hours, of every status, and
    another endpoint's in the same hours."""
    endpoint, other = (WebhookEndpointFactory(owner=user, project=project) for _ in range(2))
    first = HOUR - timedelta(hours=23)
    _deliveries(
        project,
        user,
        endpoint,
        [
            (first - timedelta(microseconds=1), "success"),  # before the first hour: left out
            (first, "success"),  # the first hour's first instant
            (first + timedelta(minutes=59, seconds=59), "failed"),
            (first + timedelta(hours=1), "pending"),
            (HOUR - timedelta(hours=2, minutes=30), "retrying"),
            (HOUR - timedelta(hours=2, minutes=5), "retrying"),
            (HOUR - timedelta(hours=2, minutes=1), "success"),
            (HOUR, "failed"),
            (NOW, "pending"),
            (HOUR + timedelta(minutes=59), "success"),  # later this hour (a clock ahead)
            (HOUR + timedelta(hours=1), "success"),  # the next hour: left out
        ],
    )
    _deliveries(project, user, other, [(first, "failed"), (HOUR, "success")])
    return endpoint


def test_hourly_outcomes_bars(history):
    bars = hourly_outcomes(channels.get("webhook"), history, now=NOW)

    assert [b.start for b in bars] == [HOUR - timedelta(hours=23 - i) for i in range(24)]
    # hour's index → (success, failed, open), for the hours that have any
    shown = {i: (b.success, b.failed, b.open) for i, b in enumerate(bars) if b.total}
    assert shown == {0: (1, 1, 0), 1: (0, 0, 1), 20: (1, 0, 2), 23: (1, 1, 1)}


def test_hourly_outcomes_hours_are_utc_hours_whatever_the_clock_zone(history):
    india = NOW.astimezone(timezone(timedelta(hours=5, minutes=30)))  # a half-hour offset

    bars = hourly_outcomes(channels.get("webhook"), history, now=india)

    assert bars == hourly_outcomes(channels.get("webhook"), history, now=NOW)


def test_grouped_and_hour_by_hour_counts_agree(history):
    """The chart's one grouped statement (PostgreSQL's) against the query per hour (SQLite's),
    on the same rows: here both run on whichever database the suite uses."""
    bars = hourly_outcomes(channels.get("webhook"), history, now=NOW)
    hours = [b.start for b in bars]
    rows = WebhookDelivery.objects.filter(endpoint=history)

    grouped = sorted(counts_by_hour(rows, hours))
    hour_by_hour = sorted(counts_hour_by_hour(rows, hours))

    assert grouped == hour_by_hour
    assert sum(n for _, _, n in grouped) == sum(b.total for b in bars) == 9


def test_chart_on_postgres_is_one_index_only_read(
    require_postgres, transactional_db, user, project
):
    endpoint = WebhookEndpointFactory(owner=user, project=project)
    others = [WebhookEndpointFactory(owner=user, project=project) for _ in range(3)]
    record_webhook_deliveries(project, user, [endpoint, *others])
    with connection.cursor() as cursor:
        # given: a month of history, a delivery every 10 minutes to each endpoint (copies of
        # the first ones), mostly delivered, so that the day is a small part of each log
        columns = [f.column for f in WebhookDelivery._meta.concrete_fields if not f.primary_key]
        changed = {
            "created_at": "now() - g * interval '10 minutes'",
            "status": "CASE WHEN g < 12 THEN 'pending' WHEN g % 100 = 0 THEN 'failed' "
            "ELSE 'success' END",
        }
        cursor.execute(
            f'INSERT INTO "{DELIVERIES}" ({", ".join(columns)}) '
            f"SELECT {', '.join(changed.get(c, c) for c in columns)} "
            f'FROM "{DELIVERIES}", generate_series(1, 30 * 144) AS g'
        )
        # and a table as autovacuum keeps it: statistics, and pages marked all-visible, which
        # an index-only scan needs to skip the rows (VACUUM cannot run in a transaction).
        cursor.execute(f'VACUUM ANALYZE "{DELIVERIES}"')

    with CaptureQueriesContext(connection) as captured:
        hourly_outcomes(channels.get("webhook"), endpoint)
    statements = [q["sql"] for q in captured.captured_queries if f'"{DELIVERIES}"' in q["sql"]]

    (sql,) = statements  # one statement for the 24 hours, not one per hour
    with transaction.atomic():  # plan_nodes sets enable_seqscan for its transaction only
        scans = [n for n in plan_nodes(sql) if "Scan" in n["Node Type"]]
    # The endpoint, each status and the day bound one range of the status index, and every
    # column the chart needs is in it: the rows themselves are not read.
    assert [(n["Node Type"], n.get("Index Name")) for n in scans] == [
        ("Index Only Scan", "ie_webhook_log_status")
    ], scans
    condition = scans[0]["Index Cond"]
    for column in ("endpoint_id", "status", "created_at"):
        assert column in condition, condition
