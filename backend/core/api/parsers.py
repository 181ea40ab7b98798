"""The API's JSON parser: DRF's, with a limit on how deeply a document may nest.

Python parses and walks JSON recursively, so a few kilobytes of `[[[[…` reach the interpreter's
recursion limit (a 500) in the parser or in whatever reads the data next. Documents nested
deeper than MAX_JSON_DEPTH are refused with a 400 before they are parsed.
"""

from __future__ import annotations

import io
import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Levels of objects and arrays, counting the outermost: `{"a": [1]}` is 2 deep.
MAX_JSON_DEPTH = 64

# A JSON string, escapes included (unrolled, so long strings cost no backtracking).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(rb"[^\[\]{}]+")


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the brackets of `raw` (outside strings) nest deeper than `limit`. Works on
    malformed input too: an unclosed `[[[[…` counts as deep as it goes."""
    # Cheap first: a document with few brackets cannot nest deeply (most requests).
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _NOT_A_BRACKET.sub(b"", _STRING.sub(b"", raw))
    depth = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser (strict: no NaN), refusing documents nested over MAX_JSON_DEPTH."""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        if json_depth_exceeds(raw):
            raise ParseError(
                f"JSON parse error - the document is nested deeper than {MAX_JSON_DEPTH} levels."
            )
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError as exc:  # the scan above should make this unreachable
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
