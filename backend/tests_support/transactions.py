"""Rolling back a change on purpose, to see that nothing of it escapes its transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction


class RolledBack(Exception):
    """Raised inside the transaction by `roll_back` so that it does not commit."""


def roll_back(change: Callable[[], Any]) -> None:
    """Run `change` in a transaction that then fails (RolledBack): nothing of it commits."""
    with transaction.atomic():
        change()
        raise RolledBack
