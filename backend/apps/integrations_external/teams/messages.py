"""Adaptive Cards for Teams: one card per event, wrapped as a Teams message.

- Version 1.5 at most: what Teams renders for a Workflows webhook ("post card in a chat or
  channel"); nothing here needs a newer element.
- Every piece of user text (names, errors, output, alert messages) goes through `escape`: Teams
  renders a Markdown subset in TextBlocks and FactSet values, so a workflow named `**[x](…)**`
  would otherwise become a link. Backslash escapes of ASCII punctuation are plain CommonMark.
  Mentions need an `msteams.entities` entry, which we never add, and `<`/`>` are escaped too.
- Long texts keep their end (where a failing run says why) and a marker states how many
  characters of the original text were left out, counted before escaping.
- The whole message stays under Teams' limit of about 28 KB for any input: if a card is still
  too big, its long texts are clipped harder and it is built again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.conf import settings

from apps.integrations_external import catalog

CARD_VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Teams refuses messages over about 28 KB; keep a margin for what a Workflow adds.
MAX_MESSAGE_BYTES = 27 * 1024
# Characters of an error or output shown at first (before any size-driven tightening).
LONG_TEXT_CHARS = 3000
NAME_CHARS = 200

# What starts Markdown in a card (emphasis, code, links, headings, tables, strike-through,
# HTML-like tags and entities). List markers at a line's start only make a list: left alone.
_MARKDOWN = re.compile(r"([\\`*_\[\]()#|<>~&])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def escape(text: Any) -> str:
    """User text made inert: no Markdown, no link, no mention; control characters dropped."""
    return _MARKDOWN.sub(r"\\\1", _CONTROL.sub("", str(text)))


def clip(text: Any, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_tail(text: str, limit: int, *, cut_before: int = 0) -> str:
    """The last `limit` characters of `text`, escaped; when anything of the original is left
    out (`cut_before` characters before `text` began, plus what is cut here), a marker says how
    many."""
    cut = cut_before + max(0, len(text) - limit)
    kept = text[-limit:] if limit > 0 else ""
    body = escape(kept)
    if cut:
        return f"… \\[{cut:,} earlier characters cut\\]\n{body}"
    return body


def link(path: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


# --- elements ----------------------------------------------------------------------------------
def title_block(text: str, color: str = "default") -> dict[str, Any]:
    return {
        "type": "TextBlock",
        "text": text,
        "weight": "bolder",
        "size": "medium",
        "wrap": True,
        "color": color,
        "style": "heading",
    }


def text_block(text: str, *, monospace: bool = False, subtle: bool = False) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "TextBlock", "text": text, "wrap": True}
    if monospace:
        block["fontType"] = "Monospace"
    if subtle:
        block["isSubtle"] = True
    return block


def fact_set(facts: list[tuple[str, Any]]) -> dict[str, Any]:
    """Facts whose values are ours (numbers, statuses) or already escaped (`user_text`)."""
    return {
        "type": "FactSet",
        "facts": [{"title": title, "value": str(value)} for title, value in facts if value],
    }


def user_text(value: Any) -> str:
    """A name or other short text a user wrote, clipped and escaped."""
    return escape(clip(value or "", NAME_CHARS))


def card(body: list[dict[str, Any]], *, open_url: str | None) -> dict[str, Any]:
    content: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": body,
    }
    if open_url:
        content["actions"] = [{"type": "Action.OpenUrl", "title": "Open", "url": open_url}]
    return content


def wrap(content: dict[str, Any]) -> dict[str, Any]:
    """A card as Teams' Workflows webhook expects it: a message with one attachment."""
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": content}],
    }


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


# --- per event -----------------------------------------------------------------------------
def _seconds(value: Any) -> str:
    if value in (None, ""):
        return ""
    seconds = float(value)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest} s"


def _who(actor: Any) -> str:
    return (actor or {}).get("username", "") if isinstance(actor, dict) else ""


def _project_name(data: dict[str, Any]) -> str:
    return ((data.get("project") or {}).get("name")) or ""


def workflow_card(event_type: str, data: dict[str, Any], long_chars: int) -> dict[str, Any]:
    workflow = data.get("workflow") or {}
    execution = data.get("execution") or {}
    name = escape(clip(workflow.get("name") or "Workflow", NAME_CHARS))
    failed = event_type == "workflow.failed" or execution.get("status") == "failed"
    if failed:
        title = title_block(f"❌ Workflow {name} failed", "attention")
    elif data.get("previous_status") == "failed":
        title = title_block(f"✅ Back to normal: workflow {name} completed", "good")
    else:
        title = title_block(f"✅ Workflow {name} completed", "good")
    body = [
        title,
        fact_set(
            [
                ("Project", user_text(_project_name(data))),
                ("Execution", f"#{execution.get('id')}" if execution.get("id") else ""),
                ("Status", execution.get("status") or ""),
                ("Duration", _seconds(execution.get("duration_seconds"))),
                ("Triggered by", user_text(_who(execution.get("triggered_by")))),
            ]
        ),
    ]
    error = execution.get("error_message") or ""
    if error:
        body.append(text_block("**Error**"))
        body.append(text_block(clip_tail(error, long_chars), monospace=True))
    url = link(f"/workflow-executions/{execution['id']}/") if execution.get("id") else None
    return card(body, open_url=url)


def command_failed(data: dict[str, Any]) -> bool:
    execution = data.get("execution") or {}
    status = execution.get("status") or data.get("status")
    exit_code = execution.get("exit_code", data.get("exit_code"))
    return status == "failed" or exit_code not in (None, 0)


def command_card(event_type: str, data: dict[str, Any], long_chars: int) -> dict[str, Any]:
    command = data.get("command") or {}
    execution = data.get("execution") or {}
    name = escape(clip(command.get("name") or "Command", NAME_CHARS))
    exit_code = execution.get("exit_code", data.get("exit_code"))
    if command_failed(data):
        title = title_block(f"❌ Command {name} failed (exit code {exit_code})", "attention")
    else:
        title = title_block(f"✅ Command {name} succeeded", "good")
    body = [
        title,
        fact_set(
            [
                ("Project", user_text(_project_name(data))),
                ("Execution", f"#{execution.get('id')}" if execution.get("id") else ""),
                ("Exit code", "" if exit_code is None else str(exit_code)),
                ("Duration", _seconds(execution.get("duration_seconds"))),
                ("Run by", user_text(_who(execution.get("executed_by")))),
            ]
        ),
    ]
    excerpt = execution.get("output_excerpt") or ""
    if excerpt:
        # The event carries the output's tail; `output_chars` says how long the whole was.
        total = execution.get("output_chars")
        before = max(0, int(total) - len(excerpt)) if isinstance(total, int) else 0
        body.append(text_block("**Output**"))
        body.append(text_block(clip_tail(excerpt, long_chars, cut_before=before), monospace=True))
    url = link(f"/command-executions/{execution['id']}/") if execution.get("id") else None
    return card(body, open_url=url)


def alert_card(event_type: str, data: dict[str, Any], long_chars: int) -> dict[str, Any]:
    alert = data.get("alert") or {}
    severity = str(alert.get("severity") or "info")
    color = "attention" if severity in ("critical", "error", "high") else "warning"
    title = escape(clip(alert.get("title") or "System alert", NAME_CHARS))
    body = [
        title_block(f"⚠️ {escape(severity.capitalize())} alert: {title}", color),
        fact_set(
            [
                ("Severity", user_text(severity)),
                ("Source", user_text(alert.get("source"))),
                ("Raised at", user_text(alert.get("created_at"))),
            ]
        ),
    ]
    message = alert.get("message") or ""
    if message:
        body.append(text_block(clip_tail(message, long_chars)))
    return card(body, open_url=None)


def project_card(event_type: str, data: dict[str, Any], long_chars: int) -> dict[str, Any]:
    project = data.get("project") or {}
    story = data.get("user_story") or {}
    if event_type == "user_story.created" and story:
        text = f"📝 New story {user_text(story.get('key'))}: {user_text(story.get('title'))}"
        url = link(f"/stories/{story['id']}/") if story.get("id") else None
    elif event_type == "github.pull_request.merged":
        pull = data.get("pull_request") or {}
        number, title = user_text(pull.get("number")), user_text(pull.get("title"))
        text = f"🔀 Pull request #{number} merged: {title}"
        html_url = str(pull.get("html_url") or "")
        url = html_url if html_url.startswith("https://") else None
    else:
        changed = ", ".join(str(field) for field in data.get("changed_fields") or [])
        text = f"✏️ Project {user_text(project.get('name'))} updated"
        if changed:
            text += f" ({escape(changed)})"
        url = None
    if url is None and project.get("id"):
        url = link(f"/projects/{project['id']}/")
    return card(
        [title_block(text), fact_set([("Project", user_text(project.get("name")))])], open_url=url
    )


def greeting_card(event_type: str, data: dict[str, Any], long_chars: int) -> dict[str, Any]:
    body = [
        title_block("👋 Test message from the integrations hub"),
        text_block(escape(clip(data.get("message") or "Teams is connected.", 500))),
    ]
    return card(body, open_url=None)


def generic_card(event_type: str, data: dict[str, Any], long_chars: int) -> dict[str, Any]:
    dump = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    body = [
        title_block(f"Event {escape(clip(event_type, NAME_CHARS))}"),
        text_block(clip_tail(dump, long_chars), monospace=True),
    ]
    return card(body, open_url=None)


BUILDERS: dict[str, Callable[[str, dict[str, Any], int], dict[str, Any]]] = {
    catalog.WORKFLOW: workflow_card,
    catalog.COMMAND: command_card,
    catalog.ALERT: alert_card,
    catalog.PROJECT: project_card,
    catalog.TEST: greeting_card,
}


def build_message(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The Teams message for an event, within Teams' size limit whatever the data holds."""
    builder = BUILDERS.get(catalog.category_of(event_type), generic_card)
    long_chars = LONG_TEXT_CHARS
    while True:
        message = wrap(builder(event_type, data, long_chars))
        if len(encode(message)) <= MAX_MESSAGE_BYTES or long_chars == 0:
            return message
        long_chars //= 4
