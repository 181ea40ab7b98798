"""The delivery path's queries reach their rows through indexes, so a delivery costs the same
with a million finished ones in the table as with none (issue 10: the claim's read-back by
`lease_token` was a scan of the whole history).

The planner prefers a sequential scan on a small test table whatever indexes exist, so each
plan is taken with `enable_seqscan` off: PostgreSQL then scans a whole table (or walks a whole
index) only where no index condition can serve the query, which must not happen on these tables.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline import channels, engine
from apps.integrations_external.pipeline.events import publish
from apps.integrations_external.pipeline.tasks import fan_out
from apps.integrations_external.tests.pipeline.plans import plan_nodes
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from tests_support.receivers import Reply

pytestmark = pytest.mark.django_db


def _history_tables() -> set[str]:
    tables = set()
    for channel in channels.all_channels():
        model = channel.delivery_model
        tables.add(model._meta.db_table)
        tables.add(model.attempts.rel.related_model._meta.db_table)
    return tables


def _full_scans(sql: str, tables: set[str]) -> list[str]:
    """The plan's reads of a history table that are not bounded by an index condition: a
    sequential scan, or an index scan that only walks the index in order (a filter, no
    `Index Cond`), which costs as much as the sequential scan it replaced."""
    bad = []
    for node in plan_nodes(sql):
        if node.get("Relation Name") not in tables:
            continue
        kind = node["Node Type"]
        if kind == "Seq Scan" or (
            kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node
        ):
            bad.append(f"{kind} on {node['Relation Name']} ({node.get('Filter', '')})")
    return bad


def _explainable(captured: CaptureQueriesContext, tables: set[str]) -> list[str]:
    """The single statements (not executemany batches, keyed by primary key anyway) that
    read or change a history table."""
    statements = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if "%s" in sql or not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            continue
        if any(f'"{table}"' in sql for table in tables):
            statements.append(sql)
    return statements


def test_delivery_path_scans_no_history_table(
    require_postgres, user, project, receiver, run_on_commit
):
    receiver.default = Reply(200, b"ok")
    endpoints = [WebhookEndpointFactory(owner=user, url=receiver.url) for _ in range(3)]
    tables = _history_tables()
    channel = channels.get("webhook")

    with CaptureQueriesContext(connection) as captured:
        with run_on_commit():
            publish("workflow.completed", {"n": 1}, project=project, actor=user)
        ids = list(
            WebhookDelivery.objects.filter(endpoint__in=endpoints).values_list("pk", flat=True)
        )
        engine.process(channel, ids)  # claim, send, record, endpoint counters
        engine.overdue_ids(channel, grace_seconds=60)  # the sweeper's scan

    statements = _explainable(captured, tables)
    claims = [s for s in statements if s.startswith("UPDATE") and "RETURNING" in s]
    assert any("lease_token" in s for s in claims), "no claim"
    scans = {sql: _full_scans(sql, tables) for sql in statements}
    assert {sql: plan for sql, plan in scans.items() if plan} == {}
    assert WebhookDelivery.objects.filter(pk__in=ids, status="success").count() == 3


def test_worker_fan_out_path_scans_no_history_table(require_postgres, user, project, receiver):
    # Given endpoints on a real receiver, one of them limited (its room is counted at fan-out).
    receiver.default = Reply(200, b"ok")
    WebhookEndpointFactory(owner=user, url=receiver.url, max_in_flight=2)
    WebhookEndpointFactory(owner=user, url=receiver.url)
    tables = _history_tables()
    event = publish("workflow.completed", {"n": 1}, project=project, fan_out_later=True)

    # When the worker's fan-out task writes its chunk leased, sends it and records it.
    with CaptureQueriesContext(connection) as captured:
        fan_out(event.pk)

    # Then its reads (the leases counted per endpoint, the leased rows read back by event and
    # token) are bounded by indexes.
    statements = _explainable(captured, tables)
    assert any("lease_token" in s and s.startswith("SELECT") for s in statements), "no read-back"
    assert any("COUNT(*)" in s and "locked_until" in s for s in statements), "no lease count"
    scans = {sql: _full_scans(sql, tables) for sql in statements}
    assert {sql: plan for sql, plan in scans.items() if plan} == {}
    assert WebhookDelivery.objects.filter(event=event, status="success").count() == 2
