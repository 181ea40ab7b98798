"""Domain signals: an in-transaction part for the outbox, then a send after commit.

A platform action sends its signal from inside its transaction. Receivers connected to
`signal.in_transaction` run there and then: what they write commits or rolls back with the
change (the integrations record the event, their outbox, this way). Receivers connected to the
signal itself run once the transaction has committed, and never on rollback.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)


class DomainSignal(Signal):
    """A signal with a second set of receivers, `in_transaction`, run at the send.

    In-transaction receivers must only write rows in the action's database (no network I/O,
    no tasks except through `transaction.on_commit`). Their errors are not caught: an action
    that cannot record its event fails and rolls back rather than commit without it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.in_transaction = Signal()


def send_on_commit(signal: DomainSignal, sender: type, **kwargs: Any) -> None:
    """Run `signal`'s in-transaction receivers now, then send `signal` after commit; a failing
    after-commit receiver is logged, never raised to the caller.

    After-commit receivers (the integrations' other work) must never break or roll back the
    platform action.
    """
    signal.in_transaction.send(sender=sender, **kwargs)

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
