"""The events catalog page: every webhook event type with an example, and snippets that work."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils.html import escape
from standardwebhooks import Webhook

from apps.integrations_external import catalog
from apps.integrations_external.pipeline.examples import example_envelopes
from apps.integrations_external.pipeline.pages import PYTHON_SNIPPET
from apps.integrations_external.webhooks.models import new_webhook_secret

pytestmark = pytest.mark.django_db


def test_events_page_lists_types_with_examples(client, user):
    client.force_login(user)
    body = client.get("/events/").content.decode()
    for name, event_type in catalog.EVENT_TYPES.items():
        if event_type.category == catalog.PERSONAL:
            assert f"<code>{name}</code>" not in body
        else:
            assert f"<code>{name}</code>" in body
            assert escape(event_type.description) in body
    assert "standardwebhooks" in body
    assert "Nightly build" in body  # an example built by the real builder


def test_events_page_anonymous_to_login(client):
    response = client.get("/events/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_example_envelopes_have_the_wire_shape():
    examples = example_envelopes()
    assert set(examples["workflow.completed"]) == {"id", "type", "timestamp", "data"}
    data = examples["command.executed"]["data"]
    assert data["execution"]["exit_code"] == 0
    assert examples["user_story.created"]["data"]["user_story"]["key"] == "US-42"


def test_events_python_snippet_verifies_a_signed_message():
    secret = new_webhook_secret()
    namespace: dict = {}
    exec(PYTHON_SNIPPET.replace('"whsec_…"', repr(secret)), namespace)
    body = b'{"type":"webhook.test","data":{}}'
    signer = Webhook(secret)
    now = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign("msg_1", now, body.decode()),
    }
    assert namespace["receive"](body, headers)["type"] == "webhook.test"
    headers["webhook-signature"] = "v1,bm90IGl0"
    with pytest.raises(PermissionError):
        namespace["receive"](body, headers)
