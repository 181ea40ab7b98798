"""Block Kit builders: every message fits Slack's limits, whatever the data."""

import re

import pytest

from apps.integrations_external.slack import messages as m
from tests_support import slack_limits as slack
from tests_support.slack_limits import slack_limit_problems

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
def test_messages_huge_data_fits_slacks_limits(message):
    built = message()

    assert slack_limit_problems(built) == []
    assert built.text
    assert built.blocks[0]["type"] == "header"


def test_messages_long_error_keeps_the_tail_with_a_marker():
    built = m.workflow_message(huge_workflow())

    error_block = next(b for b in built.blocks if "*Error*" in b.get("text", {}).get("text", ""))
    text = error_block["text"]["text"]
    assert "last line says why" in text
    assert "earlier characters cut]" in text
    assert text.endswith("```")


def test_messages_truncated_output_shows_marker_and_reason():
    built = m.command_message(huge_command())

    rendered = str(built.blocks)
    assert "error: the reason" in rendered
    assert "cut]" in rendered
    assert "exit code 2" in built.text


def test_messages_too_many_blocks_and_fields_cut_with_marker():
    blocks = [m.section("x")] * 80 + [
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 5000}] * 20},
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 500}},
    ]

    fixed = m.enforce_limits(blocks)

    assert slack_limit_problems({"text": "t", "blocks": fixed}) == []
    assert len(fixed) == slack.BLOCKS_MAX
    assert "more blocks cut" in str(fixed[-1])
    assert m.limit_problems({"text": "t", "blocks": blocks})  # the checker does see violations


def test_messages_mentions_in_names_escaped_pinging_no_one():
    data = huge_workflow()
    data["workflow"]["name"] = "<!channel> deploy & <https://evil|click>"
    data["execution"]["error_message"] = "<!here>"

    built = m.workflow_message(data)

    # Header blocks are plain_text (never parsed); mrkdwn blocks and the fallback text are.
    rendered = str([b for b in built.blocks if b["type"] != "header"]) + built.text
    assert "<!channel>" not in rendered
    assert "<!here>" not in rendered
    assert "&lt;!channel&gt; deploy &amp;" in rendered


def test_messages_link_points_back_to_the_platform(settings):
    settings.PUBLIC_BASE_URL = "https://ci.example.com"

    built = m.workflow_message(
        {"workflow": {"name": "D"}, "execution": {"id": 42, "status": "completed"}}
    )

    assert "<https://ci.example.com/workflow-executions/42/|View the execution →>" in str(
        built.blocks
    )


def test_messages_recovery_says_back_to_normal():
    built = m.workflow_message(
        {"workflow": {"name": "Deploy"}, "execution": {"status": "completed"}}, recovered=True
    )

    assert built.blocks[0]["text"]["text"].endswith("Back to normal: workflow Deploy succeeded")
    assert built.text.startswith("Back to normal")


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "–"), (2.34, "2.3 s"), (42, "42 s"), (125, "2 min 5 s"), (3725, "1 h 2 min")],
)
def test_messages_duration_formatted_readably(seconds, shown):
    assert m.duration_text(seconds) == shown


# --- the cut marker counts characters of the original text ------------------------------------
CUT_MARKER_RE = re.compile(r"… \[([\d,]+) earlier characters cut\]\n")


def unescape(shown: str) -> str:
    """What Slack displays for a code block's text (the inputs hold no zero-width space)."""
    return (
        shown.replace("\u200b", "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


def cut_and_shown(section_text: str) -> tuple[int, str]:
    """The number the marker states and the text shown after it, as Slack displays it."""
    body = section_text.split("```\n", 1)[1].rsplit("\n```", 1)[0]
    marker = CUT_MARKER_RE.match(body)
    assert marker, body[:80]
    return int(marker.group(1).replace(",", "")), unescape(body[marker.end() :])


def section_starting(message: m.SlackMessage, start: str) -> str:
    texts = [b["text"]["text"] for b in message.blocks if "text" in b]
    return next(text for text in texts if text.startswith(start))


def assert_within_slacks_limits(message: m.SlackMessage) -> None:
    # Slack's published numbers (tests_support/slack_limits.py), not the code's constants.
    assert slack_limit_problems(message) == []


ANGRY = "if a<b && c>d: <!channel> &amp; "  # every kind of character Slack needs escaped


def test_workflow_error_marker_counts_characters_of_the_original():
    reason = "\nlast line says why"
    error = (ANGRY * 400)[: 10_000 - len(reason)] + reason  # the size of the reported case

    built = m.workflow_message({"workflow": {"name": "W"}, "execution": {"error_message": error}})

    cut, shown = cut_and_shown(section_starting(built, "*Error*"))
    assert error.endswith(shown)
    assert shown.endswith("last line says why")
    assert cut == len(error) - len(shown)
    assert_within_slacks_limits(built)


def test_code_block_counts_backticks_once_and_never_closes():
    # then: the marker counts the backticks once and nothing in the cut text closes the block
    text = "x" * 500 + "`" * 3000

    block = m.code_block(text, 1000)

    cut, shown = cut_and_shown(block)
    assert cut == len(text) - len(shown)
    assert "``" not in block[4:-4]
    assert len(block) <= 1000


def test_command_output_marker_counts_output_before_excerpt():
    reason = "\nFATAL: the reason"
    output = (ANGRY * 400)[: 10_000 - len(reason)] + reason
    excerpt = output[-4000:]  # the event carries the output's last 4,000 characters
    data = {
        "command": {"name": "C"},
        "execution": {
            "status": "failed",
            "exit_code": 2,
            "output_excerpt": excerpt,
            "output_truncated": True,
            "output_chars": len(output),
        },
    }

    built = m.command_message(data)

    cut, shown = cut_and_shown(section_starting(built, "*Output*"))
    assert output.endswith(shown)
    assert shown.endswith("FATAL: the reason")
    assert cut == len(output) - len(shown)
    assert_within_slacks_limits(built)


def test_command_output_of_older_event_cut_without_a_number():
    # Events stored before `output_chars` existed say only that the excerpt is not everything.
    data = {"execution": {"output_excerpt": "the end", "output_truncated": True}}

    section_text = section_starting(m.command_message(data), "*Output*")

    assert "```\n… [earlier characters cut]\nthe end\n```" in section_text


@pytest.mark.parametrize(
    "message",
    [
        lambda: m.workflow_message(
            {"workflow": {"name": ANGRY * 50}, "execution": {"error_message": ANGRY * 3000}}
        ),
        lambda: m.command_message(
            {
                "command": {"name": ANGRY * 50, "command_line": ANGRY * 3000},
                "execution": {"output_excerpt": ANGRY * 3000, "output_truncated": True},
            }
        ),
        lambda: m.alert_message({"alert": {"title": ANGRY * 50, "message": ANGRY * 3000}}),
        lambda: m.generic_message("custom.thing", {"k": ANGRY * 3000}),
    ],
)
def test_messages_full_of_escapes_stay_within_slacks_limits(message):
    assert_within_slacks_limits(message())
