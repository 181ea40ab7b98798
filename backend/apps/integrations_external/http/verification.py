"""The one answer of every "verify this integration" check (Slack, GitHub)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone


@dataclass
class VerificationResult:
    """What checking an integration's credentials and target found, in words its owner can act
    on. `problem` is a short code for what is wrong ("" when nothing is); `facts` holds what
    the provider learned (Slack: team, bot, channel; GitHub: repository, permissions, what is
    missing), shown beside `ok` and `detail` in the API's answer."""

    ok: bool
    detail: str
    problem: str = ""
    checked_at: datetime = field(default_factory=timezone.now)
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "detail": self.detail,
            "problem": self.problem,
            "checked_at": self.checked_at.isoformat().replace("+00:00", "Z"),
            **self.facts,
        }
