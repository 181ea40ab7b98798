"""Block Kit messages for Slack, with the plain `text` fallback mobile notifications show.

Every builder returns a `SlackMessage` that fits Slack's limits (header ≤ 150 characters,
section text ≤ 3,000, ≤ 10 fields of ≤ 2,000, ≤ 50 blocks): long values are cut with a visible
marker, so Slack never rejects a message for its size. `limit_problems()` checks a message
against those limits (tests and the fake Slack use it).

User-supplied text (names, errors, output) is escaped (`&`, `<`, `>`), so nothing in it can
become a mention (`<!channel>`) or a link.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from apps.integrations_external import catalog

HEADER_MAX = 150
SECTION_TEXT_MAX = 3000
FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
BLOCKS_MAX = 50
CONTEXT_ELEMENTS_MAX = 10
# Slack truncates `text` beyond 40,000 characters; notifications show far less. Keep it short.
FALLBACK_TEXT_MAX = 3000
CUT_MARKER = "… [cut]"

STATUS_EMOJI = {
    "completed": ":white_check_mark:",
    "succeeded": ":white_check_mark:",
    "success": ":white_check_mark:",
    "failed": ":x:",
    "cancelled": ":no_entry_sign:",
    "running": ":hourglass_flowing_sand:",
}
SEVERITY_EMOJI = {
    "info": ":information_source:",
    "warning": ":warning:",
    "error": ":rotating_light:",
    "critical": ":rotating_light:",
}


@dataclass
class SlackMessage:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


# --- text helpers ------------------------------------------------------------------------------
def escape(value: Any) -> str:
    """Slack's mrkdwn control characters; nothing else needs escaping."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_PARTIAL_ENTITY_END = re.compile(r"&[a-z]{0,4}$")


def clip(text: str, limit: int, marker: str = CUT_MARKER) -> str:
    """The start of `text`, at most `limit` characters, ending with `marker` when cut."""
    if len(text) <= limit:
        return text
    head = _PARTIAL_ENTITY_END.sub("", text[: max(limit - len(marker), 0)])
    return (head + marker)[:limit]


_BACKTICK_BEFORE_BACKTICK = re.compile("`(?=`)")


def _code_safe(text: str) -> str:
    """`text` as it goes inside a code block: escaped, and no two backticks side by side (a
    zero-width space between them), so nothing in it can close the block."""
    return _BACKTICK_BEFORE_BACKTICK.sub("`\u200b", escape(text))


def _tail_start(text: str, budget: int) -> int:
    """Where the longest end of `text` that fits in `budget` characters once made safe starts.
    The safe length only shrinks as the start moves right (each character adds its own
    escape, a backtick one more when a backtick follows), so a binary search finds it."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high) // 2
        if len(_code_safe(text[middle:])) <= budget:
            high = middle
        else:
            low = middle + 1
    return low


def _cut_marker(cut: int | None) -> str:
    if cut is None:  # an older event that does not say how much came before its excerpt
        return "… [earlier characters cut]\n"
    return f"… [{cut:,} earlier characters cut]\n"


def clip_tail(text: str, limit: int, *, cut_before: int | None = 0) -> str:
    """The end of `text` (where a failing command says why) made safe for a code block, at
    most `limit` characters. When its start is left out, a marker says how many characters of
    the original were: those of `text` plus `cut_before`, the characters that preceded `text`
    (an excerpt's; None when unknown). The count is of the original, not of the escaped text."""
    if cut_before == 0 and len(_code_safe(text.lstrip("\n"))) <= limit:
        return _code_safe(text.lstrip("\n"))
    # The marker's length depends on the number it shows: budget for the largest number first,
    # then for the one found; keeping more characters only shortens the number.
    marker = _cut_marker(None if cut_before is None else cut_before + len(text))
    for _ in range(2):
        shown = text[_tail_start(text, max(limit - len(marker), 0)) :].lstrip("\n")
        cut = None if cut_before is None else cut_before + len(text) - len(shown)
        marker = _cut_marker(cut)
    if len(marker) >= limit:
        return marker[:limit]
    return marker + _code_safe(shown)


def code_block(text: str, limit: int = SECTION_TEXT_MAX, *, cut_before: int | None = 0) -> str:
    """`text` as a mrkdwn code block of at most `limit` characters, keeping its end; see
    `clip_tail` for the marker and `cut_before`."""
    body = clip_tail(text.rstrip("\n"), limit - 8, cut_before=cut_before) or " "
    return "```\n" + body + "\n```"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def link(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


# --- blocks ------------------------------------------------------------------------------------
def header(text: str) -> dict:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, HEADER_MAX), "emoji": True},
    }


def section(mrkdwn: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(mrkdwn, SECTION_TEXT_MAX)}}


def fields_section(pairs: list[tuple[str, Any]]) -> dict:
    fields = [
        {"type": "mrkdwn", "text": clip(f"*{label}*\n{value}", FIELD_TEXT_MAX)}
        for label, value in pairs
        if value not in (None, "")
    ][:FIELDS_MAX]
    return {"type": "section", "fields": fields or [{"type": "mrkdwn", "text": " "}]}


def context(*texts: str) -> dict:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(t, FIELD_TEXT_MAX)} for t in texts if t][
            :CONTEXT_ELEMENTS_MAX
        ],
    }


def link_section(url: str, label: str) -> dict:
    return section(f"<{url}|{escape(label)} →>")


def enforce_limits(blocks: list[dict]) -> list[dict]:
    """The last safety net: cut whatever a builder let through."""
    out: list[dict] = []
    for block in blocks:
        block = dict(block)
        if block.get("type") == "header":
            block["text"] = {**block["text"], "text": clip(block["text"]["text"], HEADER_MAX)}
        if block.get("type") == "section":
            if "text" in block:
                block["text"] = {
                    **block["text"],
                    "text": clip(block["text"]["text"], SECTION_TEXT_MAX),
                }
            if "fields" in block:
                block["fields"] = [
                    {**f, "text": clip(f["text"], FIELD_TEXT_MAX)}
                    for f in block["fields"][:FIELDS_MAX]
                ]
        if block.get("type") == "context":
            block["elements"] = block["elements"][:CONTEXT_ELEMENTS_MAX]
        out.append(block)
    if len(out) > BLOCKS_MAX:
        cut = len(out) - (BLOCKS_MAX - 1)
        out = [*out[: BLOCKS_MAX - 1], context(f"… {cut} more blocks cut")]
    return out


def _section_problems(block: dict) -> list[str]:
    problems = []
    if "text" in block and len(block["text"]["text"]) > SECTION_TEXT_MAX:
        problems.append(f"section text of {len(block['text']['text'])} > {SECTION_TEXT_MAX}")
    fields = block.get("fields") or []
    if len(fields) > FIELDS_MAX:
        problems.append(f"{len(fields)} fields > {FIELDS_MAX}")
    problems += [
        f"field of {len(f['text'])} > {FIELD_TEXT_MAX}"
        for f in fields
        if len(f["text"]) > FIELD_TEXT_MAX
    ]
    if "text" not in block and not fields:
        problems.append("section without text or fields")
    return problems


def _block_problems(block: dict) -> list[str]:
    kind = block.get("type")
    if kind == "header" and len(block["text"]["text"]) > HEADER_MAX:
        return [f"header of {len(block['text']['text'])} > {HEADER_MAX}"]
    if kind == "section":
        return _section_problems(block)
    if kind == "context" and len(block.get("elements") or []) > CONTEXT_ELEMENTS_MAX:
        return [f"context with more than {CONTEXT_ELEMENTS_MAX} elements"]
    return []


def limit_problems(message: SlackMessage | dict) -> list[str]:
    """Every way `message` breaks Slack's limits (an empty list when it fits)."""
    if isinstance(message, SlackMessage):
        text, blocks = message.text, message.blocks
    else:
        text, blocks = message.get("text") or "", message.get("blocks") or []
    problems = []
    if not text and not blocks:
        problems.append("no text and no blocks")
    if len(blocks) > BLOCKS_MAX:
        problems.append(f"{len(blocks)} blocks > {BLOCKS_MAX}")
    for i, block in enumerate(blocks):
        problems += [f"block {i}: {problem}" for problem in _block_problems(block)]
    if len(text) > 40000:
        problems.append(f"text of {len(text)} > 40000")
    return problems


def _message(text: str, blocks: list[dict], event_id: str | None = None) -> SlackMessage:
    if event_id:
        blocks = [*blocks, context(f"Event `{escape(event_id)}`")]
    # The fallback is mrkdwn too (notifications, search): escaped whole, nothing in it can ping.
    return SlackMessage(text=clip(escape(text), FALLBACK_TEXT_MAX), blocks=enforce_limits(blocks))


def _name(obj: dict | None, default: str = "–") -> str:
    return escape((obj or {}).get("name") or default)


def _short(value: Any, limit: int = 100) -> str:
    """A name inside the fallback text: short enough that the status after it survives."""
    return clip(str(value or "–"), limit, "…")


def _who(user: dict | None) -> str | None:
    return escape(user["username"]) if user else None


# --- the messages ----------------------------------------------------------------------------
def workflow_message(
    data: dict, *, event_id: str | None = None, recovered: bool = False
) -> SlackMessage:
    workflow, project = data.get("workflow") or {}, data.get("project") or {}
    execution = data.get("execution") or {}
    status = execution.get("status") or "completed"
    emoji = STATUS_EMOJI.get(status, ":grey_question:")
    wf_name = _name(workflow)
    if recovered:
        title = f"{emoji} Back to normal: workflow {workflow.get('name') or '–'} succeeded"
        summary = (
            f"{emoji} *Back to normal*: workflow *{wf_name}* completed; the last run had failed."
        )
    else:
        title = f"{emoji} Workflow {workflow.get('name') or '–'} {status}"
        summary = f"{emoji} Workflow *{wf_name}* {escape(status)} in project *{_name(project)}*."
    blocks = [
        header(title),
        section(summary),
        fields_section(
            [
                ("Project", _name(project)),
                ("Workflow", wf_name),
                ("Status", f"{emoji} {escape(status)}" + (" (recovered)" if recovered else "")),
                ("Duration", duration_text(execution.get("duration_seconds"))),
                ("Triggered by", _who(execution.get("triggered_by"))),
                ("Execution", f"#{execution['id']}" if execution.get("id") else None),
            ]
        ),
    ]
    error = execution.get("error_message") or ""
    if error:
        blocks.append(section("*Error*\n" + code_block(error, SECTION_TEXT_MAX - 12)))
    if execution.get("id"):
        blocks.append(
            link_section(link(f"/workflow-executions/{execution['id']}/"), "View the execution")
        )
    text = (
        f"Back to normal: workflow {_short(workflow.get('name'))} succeeded "
        f"(project {_short(project.get('name'))})"
        if recovered
        else f"Workflow {_short(workflow.get('name'))} {status} "
        f"(project {_short(project.get('name'))})"
    )
    if error:
        text += f": {error.strip().splitlines()[-1] if error.strip() else ''}"
    return _message(text, blocks, event_id)


def command_failed(data: dict) -> bool:
    execution = data.get("execution") or {}
    status = execution.get("status") or data.get("status")
    exit_code = execution.get("exit_code", data.get("exit_code"))
    return status == "failed" or (exit_code not in (None, 0))


def _output_before_excerpt(execution: dict, excerpt: str) -> int | None:
    """How many characters the command printed before `excerpt` (None: the event, older than
    `output_chars`, does not say)."""
    if not execution.get("output_truncated"):
        return 0
    total = execution.get("output_chars")
    if not isinstance(total, int):
        return None
    return max(total - len(excerpt), 0)


def command_message(data: dict, *, event_id: str | None = None) -> SlackMessage:
    command, project = data.get("command") or {}, data.get("project") or {}
    execution = data.get("execution") or {}
    status = execution.get("status") or data.get("status") or "completed"
    failed = command_failed(data)
    if failed and status != "failed":
        status = "failed"
    emoji = STATUS_EMOJI.get(status, ":grey_question:")
    exit_code = execution.get("exit_code", data.get("exit_code"))
    blocks = [
        header(f"{emoji} Command {command.get('name') or '–'} {status}"),
        fields_section(
            [
                ("Project", _name(project)),
                ("Command", _name(command)),
                ("Status", f"{emoji} {escape(status)}"),
                ("Exit code", f"`{exit_code}`" if exit_code is not None else None),
                ("Duration", duration_text(execution.get("duration_seconds"))),
                ("Run by", _who(execution.get("executed_by"))),
            ]
        ),
    ]
    if command.get("command_line"):
        blocks.append(section("*Command line*\n" + code_block(command["command_line"], 1000)))
    output = execution.get("output_excerpt") or ""
    if output:
        label = "*Output* (last lines)" if execution.get("output_truncated") else "*Output*"
        block_text = code_block(
            output,
            SECTION_TEXT_MAX - len(label) - 1,
            cut_before=_output_before_excerpt(execution, output),
        )
        blocks.append(section(f"{label}\n{block_text}"))
    if execution.get("id"):
        blocks.append(
            link_section(link(f"/command-executions/{execution['id']}/"), "View the execution")
        )
    text = f"Command {_short(command.get('name'))} {status}"
    if exit_code is not None:
        text += f" (exit code {exit_code})"
    text += f" in project {_short(project.get('name'))}"
    return _message(text, blocks, event_id)


def alert_message(data: dict, *, event_id: str | None = None) -> SlackMessage:
    alert = data.get("alert") or {}
    severity = alert.get("severity") or "info"
    emoji = SEVERITY_EMOJI.get(severity, ":bell:")
    blocks = [header(f"{emoji} {alert.get('title') or 'System alert'}")]
    if alert.get("message"):
        blocks.append(section(escape(alert["message"])))
    blocks.append(
        fields_section(
            [("Severity", escape(severity)), ("Source", escape(alert.get("source") or "") or None)]
        )
    )
    if alert.get("id"):
        blocks.append(link_section(link(f"/api/v1/system-alerts/{alert['id']}/"), "View the alert"))
    text = f"[{severity}] {_short(alert.get('title') or 'System alert', 300)}"
    if alert.get("message"):
        text += f": {alert['message']}"
    return _message(text, blocks, event_id)


def project_message(event_type: str, data: dict, *, event_id: str | None = None) -> SlackMessage:
    project = data.get("project") or {}
    project_link = link(f"/projects/{project['id']}/") if project.get("id") else None
    if event_type == "user_story.created":
        story = data.get("user_story") or {}
        title = f":memo: New user story {story.get('key') or ''}: {story.get('title') or ''}"
        blocks = [
            header(title),
            fields_section(
                [
                    ("Project", _name(project)),
                    ("Status", escape(story.get("status") or "") or None),
                    ("Priority", escape(story.get("priority") or "") or None),
                    ("Created by", _who(story.get("created_by"))),
                ]
            ),
        ]
        text = (
            f"New user story {story.get('key') or ''} in {_short(project.get('name'))}: "
            f"{story.get('title') or ''}"
        )
        if story.get("id"):
            project_link = link(f"/stories/{story['id']}/")
    elif event_type == "project.updated":
        changed = ", ".join(escape(f) for f in data.get("changed_fields") or []) or "–"
        blocks = [
            header(f":pencil2: Project {project.get('name') or '–'} updated"),
            fields_section([("Project", _name(project)), ("Changed", changed)]),
        ]
        text = f"Project {_short(project.get('name'))} updated ({changed})"
    else:
        return generic_message(event_type, data, event_id=event_id)
    if project_link:
        blocks.append(link_section(project_link, "Open in the platform"))
    return _message(text, blocks, event_id)


def test_message(
    integration_label: str, data: dict, *, event_id: str | None = None
) -> SlackMessage:
    blocks = [
        header(":test_tube: Test message"),
        section(
            f"If you can read this, notifications reach *{escape(integration_label)}*. "
            f"{escape(data.get('message') or '')}".strip()
        ),
    ]
    return _message(f"Test message: notifications reach {integration_label}.", blocks, event_id)


def generic_message(event_type: str, data: dict, *, event_id: str | None = None) -> SlackMessage:
    body = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    blocks = [header(f":bell: {event_type}"), section(code_block(body))]
    return _message(f"Event {event_type}", blocks, event_id)


def is_recovery(event_type: str, data: dict) -> bool:
    """A workflow that failed last time completed: "back to normal"."""
    return event_type == "workflow.completed" and data.get("previous_status") == "failed"


def event_message(envelope: dict, *, integration_label: str) -> SlackMessage:
    """The message for one event (a delivery's payload: {id, type, timestamp, data})."""
    event_type, data, event_id = (
        envelope.get("type", ""),
        envelope.get("data") or {},
        envelope.get("id"),
    )
    category = catalog.category_of(event_type)
    if category == catalog.WORKFLOW:
        return workflow_message(data, event_id=event_id, recovered=is_recovery(event_type, data))
    if category == catalog.COMMAND:
        return command_message(data, event_id=event_id)
    if category == catalog.ALERT:
        return alert_message(data, event_id=event_id)
    if category == catalog.PROJECT:
        return project_message(event_type, data, event_id=event_id)
    if category == catalog.TEST:
        return test_message(integration_label, data, event_id=event_id)
    return generic_message(event_type, data, event_id=event_id)
