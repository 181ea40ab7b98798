"""Slack's published message limits, written out from Slack's documentation, and a checker that
applies them. The fake Slack and the tests judge messages with these, never with the
production code's own constants or `limit_problems` (a test must not check the code against
itself: with the production numbers multiplied by ten, these still fail oversized messages).

Sources: Block Kit reference (api.slack.com/reference/block-kit/blocks): a message holds at most
50 blocks; a section's text at most 3,000 characters, at most 10 fields of at most 2,000
characters each; a header's text at most 150 characters; a context block at most 10
elements. chat.postMessage: `text` is truncated past 40,000 characters.
"""

from __future__ import annotations

from typing import Any

BLOCKS_MAX = 50
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
TEXT_MAX = 40_000


def _text(obj: Any) -> str:
    return obj.get("text", "") if isinstance(obj, dict) else ""


def slack_limit_problems(message: Any) -> list[str]:
    """What Slack would refuse in `message` (a dict with `text` and `blocks`, or any object with
    those attributes): an empty list when it fits."""
    if isinstance(message, dict):
        text, blocks = message.get("text") or "", message.get("blocks") or []
    else:
        text, blocks = message.text or "", message.blocks or []
    problems = []
    if not text and not blocks:
        problems.append("neither text nor blocks")
    if len(text) > TEXT_MAX:
        problems.append(f"text of {len(text)} characters (Slack keeps {TEXT_MAX})")
    if len(blocks) > BLOCKS_MAX:
        problems.append(f"{len(blocks)} blocks (at most {BLOCKS_MAX})")
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "header" and len(_text(block.get("text"))) > HEADER_TEXT_MAX:
            problems.append(f"block {i}: header over {HEADER_TEXT_MAX} characters")
        if kind == "section":
            fields = block.get("fields") or []
            if "text" not in block and not fields:
                problems.append(f"block {i}: section with neither text nor fields")
            if len(_text(block.get("text"))) > SECTION_TEXT_MAX:
                problems.append(f"block {i}: section text over {SECTION_TEXT_MAX} characters")
            if len(fields) > SECTION_FIELDS_MAX:
                problems.append(f"block {i}: {len(fields)} fields (at most {SECTION_FIELDS_MAX})")
            for field in fields:
                if len(_text(field)) > FIELD_TEXT_MAX:
                    problems.append(f"block {i}: a field over {FIELD_TEXT_MAX} characters")
        if kind == "context" and len(block.get("elements") or []) > CONTEXT_ELEMENTS_MAX:
            problems.append(f"block {i}: context over {CONTEXT_ELEMENTS_MAX} elements")
    return problems
