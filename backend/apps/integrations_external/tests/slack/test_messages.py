"""Block Kit builders: every message fits Slack's limits, whatever the data."""

import pytest

from apps.integrations_external.slack import messages as m

HUGE = "z" * 100_000


def huge_workflow():
    return {
        "workflow": {"id": 1, "name": "W" * 1000},
        "project": {"id": 2, "name": "P" * 5000},
        "execution": {
            "id": 3,
            "status": "failed",
            "duration_seconds": 3725,
            "error_message": HUGE + "\nlast line says why",
            "triggered_by": {"id": 1, "username": "u" * 3000},
        },
        "previous_status": "completed",
    }


def huge_command():
    return {
        "command": {"id": 1, "name": "C" * 4000, "command_line": "make " + HUGE},
        "project": {"id": 2, "name": "P" * 5000},
        "execution": {
            "id": 3,
            "status": "failed",
            "exit_code": 2,
            "output_excerpt": ("noise\n" * 20_000) + "error: the reason",
            "output_truncated": True,
        },
        "status": "failed",
        "exit_code": 2,
    }


@pytest.mark.parametrize(
    "message",
    [
        lambda: m.workflow_message(huge_workflow(), event_id="evt_1"),
        lambda: m.workflow_message(huge_workflow(), recovered=True),
        lambda: m.command_message(huge_command(), event_id="evt_2"),
        lambda: m.alert_message(
            {"alert": {"id": 1, "title": "T" * 900, "message": HUGE, "severity": "critical"}}
        ),
        lambda: m.project_message(
            "project.updated",
            {"project": {"id": 1, "name": "N" * 900}, "changed_fields": ["x" * 50] * 200},
        ),
        lambda: m.project_message(
            "user_story.created",
            {"project": {"id": 1, "name": "N"}, "user_story": {"id": 1, "title": HUGE}},
        ),
        lambda: m.generic_message("custom.thing", {"k": HUGE}),
    ],
)
def test_given_huge_data_when_message_built_then_it_fits_slacks_limits(message):
    built = message()

    assert m.limit_problems(built) == []
    assert built.text and len(built.text) <= m.FALLBACK_TEXT_MAX
    assert built.blocks[0]["type"] == "header"
    assert len(built.blocks[0]["text"]["text"]) <= 150


def test_given_long_error_when_workflow_message_built_then_tail_kept_with_visible_marker():
    built = m.workflow_message(huge_workflow())

    error_block = next(b for b in built.blocks if "*Error*" in b.get("text", {}).get("text", ""))
    text = error_block["text"]["text"]
    assert "last line says why" in text
    assert "earlier characters cut]" in text
    assert text.endswith("```")


def test_given_truncated_output_when_command_message_built_then_marker_and_reason_shown():
    built = m.command_message(huge_command())

    rendered = str(built.blocks)
    assert "error: the reason" in rendered
    assert "cut]" in rendered
    assert "exit code 2" in built.text


def test_given_too_many_blocks_and_fields_when_limits_enforced_then_cut_with_marker():
    blocks = [m.section("x")] * 80 + [
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 5000}] * 20},
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 500}},
    ]

    fixed = m.enforce_limits(blocks)

    assert m.limit_problems({"text": "t", "blocks": fixed}) == []
    assert len(fixed) == 50
    assert "more blocks cut" in str(fixed[-1])
    assert m.limit_problems({"text": "t", "blocks": blocks})  # the checker does see violations


def test_given_mentions_in_names_when_built_then_escaped_not_pinging_anyone():
    data = huge_workflow()
    data["workflow"]["name"] = "<!channel> deploy & <https://evil|click>"
    data["execution"]["error_message"] = "<!here>"

    built = m.workflow_message(data)

    # Header blocks are plain_text (never parsed); mrkdwn blocks and the fallback text are.
    rendered = str([b for b in built.blocks if b["type"] != "header"]) + built.text
    assert "<!channel>" not in rendered and "<!here>" not in rendered
    assert "&lt;!channel&gt; deploy &amp;" in rendered


def test_given_link_base_when_built_then_link_points_back_to_the_platform(settings):
    settings.PUBLIC_BASE_URL = "https://ci.example.com"

    built = m.workflow_message(
        {"workflow": {"name": "D"}, "execution": {"id": 42, "status": "completed"}}
    )

    assert "<https://ci.example.com/api/v1/workflow-executions/42/|View the execution →>" in str(
        built.blocks
    )


def test_given_recovery_when_built_then_header_and_text_say_back_to_normal():
    built = m.workflow_message(
        {"workflow": {"name": "Deploy"}, "execution": {"status": "completed"}}, recovered=True
    )

    assert built.blocks[0]["text"]["text"].endswith("Back to normal: workflow Deploy succeeded")
    assert built.text.startswith("Back to normal")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "–"), (2.34, "2.3 s"), (42, "42 s"), (125, "2 min 5 s"), (3725, "1 h 2 min")],
)
def test_given_duration_when_formatted_then_readable(seconds, shown):
    assert m.duration_text(seconds) == shown
