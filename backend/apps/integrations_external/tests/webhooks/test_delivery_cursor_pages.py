"""The API's delivery lists page by cursor: newest first, every delivery once across the pages,
and no COUNT of the history (issue 14: counting a million deliveries took 0.5 s a page)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.integrations_external.models import WebhookDelivery
from apps.integrations_external.tests.webhooks.factories import (
    WebhookEndpointFactory,
    record_webhook_deliveries,
)
from apps.integrations_external.tests.webhooks.helpers import API

pytestmark = pytest.mark.django_db


def _history(user, project, endpoint, events: int) -> list[int]:
    """`events` deliveries to `endpoint`, one a minute apart, plus two sharing one instant (the
    cursor must not lose a tie); ids newest first."""
    ids = [record_webhook_deliveries(project, user, [endpoint])[0] for _ in range(events)]
    now = timezone.now()
    for i, pk in enumerate(ids):
        WebhookDelivery.objects.filter(pk=pk).update(created_at=now - timedelta(minutes=i))
    WebhookDelivery.objects.filter(pk=ids[-1]).update(
        created_at=now - timedelta(minutes=len(ids) - 2)
    )
    return sorted(
        ids,
        key=lambda pk: (WebhookDelivery.objects.get(pk=pk).created_at, pk),
        reverse=True,
    )


def _walk(client, path: str) -> tuple[list[int], list[str]]:
    seen, sqls = [], []
    while path:
        with CaptureQueriesContext(connection) as captured:
            resp = client.get(path)
        assert resp.status_code == 200, resp.content
        assert "count" not in resp.data
        seen += [row["id"] for row in resp.data["results"]]
        sqls += [q["sql"] for q in captured.captured_queries]
        path = resp.data["next"]
    return seen, sqls


@pytest.mark.parametrize("list_path", ["webhook-deliveries/", "webhooks/{endpoint}/deliveries/"])
def test_delivery_list_pages_by_cursor_without_counting(auth_client, user, project, list_path):
    endpoint = WebhookEndpointFactory(owner=user, project=project)
    expected = _history(user, project, endpoint, events=7)
    path = f"{API}/{list_path.format(endpoint=endpoint.pk)}?page_size=3"

    seen, sqls = _walk(auth_client, path)

    assert seen == expected  # newest first, each once, the tie included
    assert not [sql for sql in sqls if "COUNT(" in sql.upper()]


def test_delivery_list_oldest_first_when_ordered_by_created_at(auth_client, user, project):
    endpoint = WebhookEndpointFactory(owner=user, project=project)
    expected = _history(user, project, endpoint, events=5)

    seen, _ = _walk(auth_client, f"{API}/webhook-deliveries/?ordering=created_at&page_size=2")

    assert seen == expected[::-1]


def test_delivery_list_filters_apply_on_every_page(auth_client, user, project):
    endpoint = WebhookEndpointFactory(owner=user, project=project)
    ids = _history(user, project, endpoint, events=6)
    failed = ids[1::2]
    WebhookDelivery.objects.filter(pk__in=failed).update(status="failed")

    seen, _ = _walk(auth_client, f"{API}/webhook-deliveries/?status=failed&page_size=2")

    assert seen == failed
