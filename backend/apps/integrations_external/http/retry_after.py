"""Reading a server's Retry-After header (RFC 9110 §10.2.3)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from django.utils import timezone


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, (when - timezone.now()).total_seconds())
