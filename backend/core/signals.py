"""Sending domain signals once, after the transaction that made the change commits."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)


def send_on_commit(signal: Signal, sender: type, **kwargs: Any) -> None:
    """Send `signal` after commit; a failing receiver is logged, never raised to the caller.

    Receivers (the integrations) must never break or roll back the platform action.
    """

    def _send() -> None:
        for receiver, result in signal.send_robust(sender=sender, **kwargs):
            if isinstance(result, Exception):
                logger.error(
                    "receiver %r of %s failed",
                    receiver,
                    sender.__name__,
                    exc_info=(type(result), result, result.__traceback__),
                )

    transaction.on_commit(_send, robust=True)
