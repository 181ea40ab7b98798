"""The delivery messages handed to Celery: what their headers say of the batch."""

import pytest

from apps.integrations_external.pipeline.scheduling import args_repr, enqueue
from apps.integrations_external.pipeline.tasks import deliver


@pytest.fixture
def built_messages(monkeypatch) -> list[dict]:
    """Every task message Celery builds, as {"argsrepr", "args"}; none is sent to the broker."""
    amqp = deliver.app.amqp
    messages: list[dict] = []
    build = amqp.create_task_message

    def recording(*args, **kwargs):
        message = build(*args, **kwargs)
        messages.append({"argsrepr": message.headers["argsrepr"], "args": list(message.body[0])})
        return message

    monkeypatch.setitem(deliver.app.conf, "task_always_eager", False)
    monkeypatch.setattr(amqp, "create_task_message", recording)
    monkeypatch.setattr(amqp, "send_task_message", lambda *args, **kwargs: None)
    return messages


def test_message_shows_its_batch_by_first_and_last_id(built_messages, settings):
    settings.DELIVERY_BATCH_SIZE = 100

    enqueue("webhook", list(range(1, 101)))

    assert [m["argsrepr"] for m in built_messages] == ["('webhook', [1, …, 100] (100 ids))"]


def test_message_of_one_delivery_shows_its_id():
    assert args_repr("slack", [7]) == "('slack', [7] (1 id))"


def test_message_carries_every_id_of_its_batch(built_messages, settings):
    settings.DELIVERY_BATCH_SIZE = 2

    enqueue("webhook", [5, 6, 9])

    assert [m["args"] for m in built_messages] == [["webhook", [5, 6]], ["webhook", [9]]]
    assert [m["argsrepr"] for m in built_messages] == [
        "('webhook', [5, …, 6] (2 ids))",
        "('webhook', [9] (1 id))",
    ]
