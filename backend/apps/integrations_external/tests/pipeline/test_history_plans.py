"""Reads of long histories stay ranges of an index, however the history is filtered (issue 14;
the figures at a million deliveries are in bench/scale.py): the delivery log by a status or an
event type that few rows have, and the sweeper's scan, which stops at its limit instead of
sorting every open delivery.

As in test_query_plans.py, plans come from `plans.plan_nodes`, with `enable_seqscan` off:
PostgreSQL leaves a table or an index unbounded only where no index condition can serve it.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.pipeline import channels, engine
from apps.integrations_external.pipeline.delivery_log import deliveries_of, page_before
from apps.integrations_external.tests.pipeline.plans import plan_nodes
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)

pytestmark = pytest.mark.django_db

DELIVERIES = "integrations_external_webhookdelivery"


def _statements(call) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        call()
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and f'"{DELIVERIES}"' in q["sql"]
    ]


def _index_conditions(sql: str) -> list[str]:
    return [n["Index Cond"] for n in plan_nodes(sql) if "Index Cond" in n]


@pytest.mark.parametrize(
    ("filters", "column"),
    [({"status": "failed"}, "status"), ({"event_type": "command.executed"}, "event_type")],
)
def test_delivery_log_filter_is_an_index_condition(
    require_postgres, user, project, filters, column
):
    endpoint = WebhookEndpointFactory(owner=user, project=project)
    # given: a history where the filtered value is rare, as in the log it serves, and the
    # planner's statistics know it (on a near-empty table its choice rests on defaults and on
    # what earlier tests left in the statistics).
    others = [WebhookEndpointFactory(owner=user, project=project) for _ in range(3)]
    for _ in range(40):
        record_webhook_deliveries(project, user, [endpoint, *others])
    ids = [record_webhook_deliveries(project, user, [endpoint])[0] for _ in range(3)]
    WebhookDelivery.objects.exclude(pk__in=ids).update(status="success")
    WebhookDelivery.objects.filter(pk__in=ids).update(
        status="failed", event_type="command.executed"
    )
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{DELIVERIES}"')
    rows = deliveries_of(channels.get("webhook"), endpoint, **filters)

    first = _statements(lambda: page_before(rows, None))
    later = _statements(lambda: page_before(rows, ids[1]))

    # The page's read (the last statement; a later page first reads its anchor by id): the
    # endpoint and the filter bound one index range, not the endpoint's whole history.
    for sql in (first[-1], later[-1]):
        conditions = _index_conditions(sql)
        assert any("endpoint_id" in c and column in c for c in conditions), conditions


def test_sweeper_scan_sorts_nothing(require_postgres, user, project):
    endpoint = WebhookEndpointFactory(owner=user, project=project)
    record_webhook_deliveries(project, user, [endpoint])

    (sql,) = _statements(lambda: engine.overdue_ids(channels.get("webhook"), grace_seconds=0))

    kinds = [n["Node Type"] for n in plan_nodes(sql)]
    assert not {"Sort", "Incremental Sort", "Seq Scan"} & set(kinds), kinds
