"""Cards for every kind of event, checked by Microsoft's own Adaptive Cards implementation
(the fake Teams' validator), never by our builder's checks."""

from __future__ import annotations

import json

import pytest

from apps.integrations_external.teams import messages
from tests_support.fake_teams import MAX_MESSAGE_BYTES, message_problems

MARKUP = "**bold** [link](https://evil.example) <at>Everyone</at> _x_ `code` ~~s~~ # h &amp; |t|"


def workflow_data(status="completed", error="", previous_status=None, name="Deploy"):
    return {
        "workflow": {"id": 7, "name": name},
        "project": {"id": 3, "name": "Checkout"},
        "execution": {
            "id": 70,
            "status": status,
            "duration_seconds": 72.5,
            "error_message": error,
            "triggered_by": {"id": 1, "username": "ada"},
        },
        "previous_status": previous_status,
    }


def command_data(exit_code=0, output="ok\n", output_chars=None):
    return {
        "command": {"id": 5, "name": "migrate", "command_line": "manage.py migrate"},
        "project": {"id": 3, "name": "Checkout"},
        "execution": {
            "id": 50,
            "status": "completed" if exit_code == 0 else "failed",
            "exit_code": exit_code,
            "duration_seconds": 3.2,
            "output_excerpt": output[-4000:],
            "output_truncated": len(output) > 4000,
            "output_chars": len(output) if output_chars is None else output_chars,
            "executed_by": {"id": 1, "username": "ada"},
        },
        "status": "completed" if exit_code == 0 else "failed",
        "exit_code": exit_code,
    }


def card_text(message: dict) -> str:
    return json.dumps(message["attachments"][0]["content"], ensure_ascii=False)


EVENTS = [
    ("workflow.completed", workflow_data()),
    ("workflow.failed", workflow_data("failed", error="boom")),
    ("workflow.completed", workflow_data(previous_status="failed")),
    ("command.executed", command_data()),
    ("command.executed", command_data(exit_code=2, output="Traceback\n" * 50)),
    (
        "system.alert",
        {
            "alert": {
                "id": 1,
                "severity": "critical",
                "title": "Disk",
                "message": "full",
                "source": "db",
                "created_at": "2026-12-01T10:00:00Z",
            }
        },
    ),
    (
        "project.updated",
        {"project": {"id": 3, "name": "Checkout", "description": ""}, "changed_fields": ["name"]},
    ),
    (
        "user_story.created",
        {
            "project": {"id": 3, "name": "Checkout"},
            "user_story": {"id": 9, "key": "US-9", "title": "Pay"},
        },
    ),
    ("webhook.test", {"message": "This is a test message."}),
    ("deploy.finished", {"anything": [1, 2, {"nested": MARKUP}]}),
]


@pytest.mark.parametrize(("event_type", "data"), EVENTS)
def test_message_valid_for_teams(card_validator, event_type, data):
    message = messages.build_message(event_type, data)
    assert message_problems(messages.encode(message), card_validator) == []
    assert message["attachments"][0]["content"]["version"] == "1.5"


def test_message_workflow_facts_and_open_action():
    message = messages.build_message("workflow.failed", workflow_data("failed", error="boom"))
    content = message["attachments"][0]["content"]
    facts = {f["title"]: f["value"] for f in content["body"][1]["facts"]}
    assert facts == {
        "Project": "Checkout",
        "Execution": "#70",
        "Status": "failed",
        "Duration": "1 min 12 s",
        "Triggered by": "ada",
    }
    [action] = content["actions"]
    assert action["type"] == "Action.OpenUrl"
    assert action["url"].endswith("/workflow-executions/70/")
    assert "failed" in content["body"][0]["text"]


def test_message_back_to_normal_title():
    message = messages.build_message("workflow.completed", workflow_data(previous_status="failed"))
    assert "Back to normal" in message["attachments"][0]["content"]["body"][0]["text"]


def test_message_escapes_markup_and_mentions(card_validator):
    message = messages.build_message(
        "workflow.failed", workflow_data("failed", error=MARKUP, name=MARKUP)
    )
    text = card_text(message)
    for raw in ("**bold**", "[link](", "<at>", "`code`", "~~s~~", "_x_"):
        assert raw not in text, raw
    assert "\\\\&amp;" in text  # the entity stays text: its & is escaped (JSON doubles \\)
    assert "msteams" not in text  # no mention entities: a mention needs one
    assert message_problems(messages.encode(message), card_validator) == []


def test_message_long_error_clipped_with_true_count(card_validator):
    error = ("<b>*[x]*</b> " * 1000)[:10_000]
    message = messages.build_message("workflow.failed", workflow_data("failed", error=error))
    encoded = messages.encode(message)
    assert len(encoded) <= MAX_MESSAGE_BYTES
    assert message_problems(encoded, card_validator) == []
    shown = message["attachments"][0]["content"]["body"][-1]["text"]
    # 10,000 characters; the card keeps the last 3,000 (the documented excerpt): 7,000 cut.
    assert shown.startswith("… \\[7,000 earlier characters cut\\]\n")


def test_message_output_cut_counts_whole_output():
    output = "x" * 10_000
    message = messages.build_message("command.executed", command_data(exit_code=1, output=output))
    shown = message["attachments"][0]["content"]["body"][-1]["text"]
    # The event carries the last 4,000 of 10,000 characters; the card shows 3,000 of those.
    assert shown.startswith("… \\[7,000 earlier characters cut\\]\n")


@pytest.mark.parametrize("char", ["\\", "*", "€", "😀", "\x01", '"'])
def test_message_any_input_within_size(card_validator, char):
    huge = char * 100_000
    data = workflow_data("failed", error=huge, name=huge)
    data["project"]["name"] = huge
    message = messages.build_message("workflow.failed", data)
    encoded = messages.encode(message)
    assert len(encoded) <= MAX_MESSAGE_BYTES
    assert message_problems(encoded, card_validator) == []


def test_message_custom_event_huge_data_within_size(card_validator):
    data = {f"key{i}": MARKUP * 10 for i in range(500)}
    encoded = messages.encode(messages.build_message("deploy.finished", data))
    assert len(encoded) <= MAX_MESSAGE_BYTES
    assert message_problems(encoded, card_validator) == []
