"""The channel contract (pipeline/channels.py): what a channel must define, and how the engine
tells a batch transport from a one-by-one one."""

import pytest

from apps.integrations_external.pipeline import channels, engine
from apps.integrations_external.pipeline.channels import (
    BatchTransport,
    Channel,
    Outcome,
    SendResult,
)
from apps.integrations_external.webhooks.channel import WebhookChannel
from apps.integrations_external.webhooks.transport import WebhookTransport


class _OneByOne:
    def __init__(self) -> None:
        self.sent: list[int] = []

    def send(self, delivery) -> SendResult:
        self.sent.append(delivery)
        return SendResult(Outcome.SUCCESS)


class _Batch(_OneByOne):
    def send_many(self, deliveries) -> list[SendResult]:
        self.sent.extend(deliveries)
        return [SendResult(Outcome.RETRY, retry_after=1) for _ in deliveries]


def test_channel_missing_an_abstract_method_cannot_be_made():
    class Incomplete(Channel):
        name = "incomplete"

        def targets(self):
            return None

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()


def test_channel_registry_holds_every_provider():
    assert {c.name for c in channels.all_channels()} == {
        "email",
        "github",
        "slack",
        "teams",
        "webhook",
    }
    assert all(isinstance(c, Channel) for c in channels.all_channels())


def test_batch_transport_is_recognised_by_its_protocol():
    assert isinstance(WebhookTransport(), BatchTransport)
    assert not isinstance(_OneByOne(), BatchTransport)


@pytest.mark.parametrize(
    ("transport_class", "outcome"), [(_OneByOne, "success"), (_Batch, "retry")]
)
def test_send_all_uses_send_many_if_transport_has_it(transport_class, outcome):
    transport = transport_class()

    class Probe(WebhookChannel):
        concurrency = 1

        def transport(self):
            return transport

    results = engine.send_all(Probe(), [1, 2, 3])

    assert [d for d, _ in results] == [1, 2, 3]
    assert transport.sent == [1, 2, 3]
    assert {r.outcome for _, r in results} == {outcome}
