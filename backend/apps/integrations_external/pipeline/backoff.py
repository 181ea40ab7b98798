"""When to try again: one policy for every channel (anchors: Svix, Standard Webhooks)."""

from __future__ import annotations

import random

from django.conf import settings


def retry_delay(retry_number: int, *, base: float | None = None, jitter: float = 0.2) -> float:
    """Seconds before the n-th retry (n ≥ 1): base × 4^(n-1), ±20 %, capped.

    With the default base of 5 s: 5 s, 20 s, 80 s, 5 min, 21 min, 85 min, 5.7 h, 10 h.
    """
    base = settings.WEBHOOK_RETRY_BASE_SECONDS if base is None else base
    delay = base * (4 ** (max(retry_number, 1) - 1))
    delay *= 1 + random.uniform(-jitter, jitter)
    return min(delay, settings.WEBHOOK_RETRY_MAX_SECONDS)


def honour_retry_after(seconds: float | None, fallback: float) -> float:
    """A server's Retry-After wins over our back-off, within a cap (a hostile value can't park
    a delivery for a year)."""
    if seconds is None or seconds < 0:
        return fallback
    return min(float(seconds), settings.WEBHOOK_RETRY_AFTER_MAX_SECONDS)
