"""The transport's wait loop with descriptors above select()'s 1,024."""

import os
import resource
import time

import pytest

from apps.integrations_external.pipeline.channels import Outcome
from apps.integrations_external.tests.webhooks.factories import WebhookEndpointFactory
from apps.integrations_external.webhooks.models import WebhookDelivery
from apps.integrations_external.webhooks.transport import WebhookTransport
from tests_support.receivers import Reply

pytestmark = pytest.mark.django_db

HIGH_DESCRIPTORS = 1_100


@pytest.fixture
def descriptors_above_1024():
    """Hold enough open descriptors that every new socket gets a number above 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = HIGH_DESCRIPTORS + 1_000
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"RLIMIT_NOFILE's hard limit {hard} is below {wanted}")
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(HIGH_DESCRIPTORS)]
    try:
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_send_many_above_1024_descriptors_waits_without_spinning(descriptors_above_1024, receiver):
    # Given a receiver that answers after 2 s, and a process whose new sockets are all > 1,024
    receiver.default = Reply(200, delay=2)
    endpoint = WebhookEndpointFactory(url=receiver.url)
    deliveries = [
        WebhookDelivery(endpoint=endpoint, event_type="t", payload={"n": n}) for n in range(3)
    ]
    transport = WebhookTransport()

    # When the transport sends while the receiver takes its time
    cpu_before = time.thread_time()
    results = transport.send_many(deliveries)
    cpu_spent = time.thread_time() - cpu_before

    # Then every request got through, and the loop slept while it waited: select() cannot watch
    # those sockets, and a loop built on it spun for the whole 2 s (measured: 1.96 s of CPU).
    assert [r.outcome for r in results] == [Outcome.SUCCESS] * 3
    assert len(receiver.requests) == 3
    assert cpu_spent < 0.5


def test_send_many_above_1024_descriptors_reuses_connections(descriptors_above_1024, receiver):
    # Given a fast receiver and sockets above 1,024
    endpoint = WebhookEndpointFactory(url=receiver.url)
    transport = WebhookTransport()

    # When two batches go out through the same client
    for round_ in range(2):
        batch = [
            WebhookDelivery(endpoint=endpoint, event_type="t", payload={"r": round_, "n": n})
            for n in range(20)
        ]
        assert {r.outcome for r in transport.send_many(batch)} == {Outcome.SUCCESS}

    # Then all 40 arrived, each once
    assert sorted(r.json()["n"] for r in receiver.requests) == sorted(list(range(20)) * 2)
