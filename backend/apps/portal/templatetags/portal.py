"""Small helpers the portal's templates share."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.http import HttpRequest

register = template.Library()


@register.filter
def pretty_json(value: Any) -> str:
    """A JSON document indented for reading (a payload, a response body that parses)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@register.simple_tag(takes_context=True)
def query_with(context: dict[str, Any], **changes: Any) -> str:
    """The current query string with some parameters changed (pagination links that keep the
    filters): `?{% query_with page=2 %}`."""
    request: HttpRequest = context["request"]
    params = request.GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


STATUS_STYLES = {
    "completed": "ok",
    "succeeded": "ok",
    "success": "ok",
    "delivered": "ok",
    "active": "ok",
    "healthy": "ok",
    "failed": "bad",
    "failing": "bad",
    "disabled": "off",
    "cancelled": "off",
    "inactive": "off",
    "pending": "wait",
    "running": "wait",
    "retrying": "wait",
}


@register.inclusion_tag("portal/_badge.html")
def status_badge(status: str, label: str = "") -> dict[str, str]:
    """A coloured badge for a status word (its style from the word, its text from `label`)."""
    return {"style": STATUS_STYLES.get(str(status).lower(), "info"), "label": label or status}
