"""The gauges of the pipeline's and the integrations' state, read from the database at scrape
time (served by core.metrics at `/metrics`; the counters are pipeline/metrics.py's):
- `hub_delivery_oldest_due_age_seconds{channel}`: how long the longest-waiting due delivery
  that no worker holds has been due (0: nothing waits). The backlog alarm.
- `hub_delivery_due{channel}`: deliveries due and not held by a worker.
- `hub_webhook_endpoints_failing`, `hub_webhook_endpoints_disabled`.
- `hub_integrations_unhealthy{kind}`.
- `hub_state_query_ok`: 0 when the database could not answer (the gauges above are missing).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError, transaction
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from apps.integrations_external.monitoring import selectors

logger = logging.getLogger(__name__)


class DeliveryStateCollector(Collector):
    """Gauges of the pipeline's state, computed from the database at each scrape.

    When the database cannot answer, the scrape still serves the processes' counters, with
    `hub_state_query_ok` 0 instead of the gauges: an outage must not hide what was counted.
    """

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            # A savepoint: a failed query must not leave the request's transaction aborted.
            with transaction.atomic():
                backlogs = selectors.backlogs()
                health = selectors.webhook_endpoint_health()
                unhealthy_counts = selectors.unhealthy_integration_counts()
        except DatabaseError as exc:
            logger.warning("metrics: the state gauges could not be read: %s", exc)
            yield GaugeMetricFamily(
                "hub_state_query_ok", "Whether the state gauges could be read (1) or not (0).", 0
            )
            return
        yield GaugeMetricFamily(
            "hub_state_query_ok", "Whether the state gauges could be read (1) or not (0).", 1
        )
        age = GaugeMetricFamily(
            "hub_delivery_oldest_due_age_seconds",
            "Seconds the oldest due delivery no worker holds has been waiting (0: none).",
            labels=["channel"],
        )
        due = GaugeMetricFamily(
            "hub_delivery_due", "Deliveries due and not held by a worker.", labels=["channel"]
        )
        for b in backlogs:
            age.add_metric([b.channel], b.oldest_due_age_seconds)
            due.add_metric([b.channel], b.due)
        yield age
        yield due
        yield GaugeMetricFamily(
            "hub_webhook_endpoints_failing",
            "Active webhook endpoints whose deliveries are failing.",
            value=health["failing"],
        )
        yield GaugeMetricFamily(
            "hub_webhook_endpoints_disabled",
            "Webhook endpoints switched off (by auto-disable or their owner).",
            value=health["disabled"],
        )
        unhealthy = GaugeMetricFamily(
            "hub_integrations_unhealthy",
            "Active integrations that cannot work now (bad token, failed sync…).",
            labels=["kind"],
        )
        for kind, count in sorted(unhealthy_counts.items()):
            unhealthy.add_metric([kind], count)
        yield unhealthy
