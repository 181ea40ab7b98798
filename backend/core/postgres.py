"""PostgreSQL connections read `timestamptz` values with psycopg's C loader.

Django registers its own loader for `timestamptz` on every connection (to set the tzinfo of
the connection's time zone), a subclass of psycopg's pure-Python loader: reading 100,000 values
took 3.1 µs of CPU each with it, 0.4 µs with psycopg's C loader (fetch included). A claimed or
leased delivery reads four or five such columns: with this loader the bench's workers went from
140–143 to 121–125 µs per delivery on PostgreSQL (docs/delivery.md, "One UPDATE per recorded
chunk, timestamps read in C").

When Django's time zone for the connection is UTC (USE_TZ and no per-database TIME_ZONE, as
here), the session runs in UTC and the C loader returns the same values with the same tzinfo
(`datetime.timezone.utc`). With any other zone Django's loader is left alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from psycopg import adapters
from psycopg.adapt import Loader
from psycopg.postgres import types
from psycopg.pq import Format

_TIMESTAMPTZ = types["timestamptz"].oid
_C_LOADER: Any = adapters.get_loader(_TIMESTAMPTZ, Format.TEXT)


class UtcTimestamptzLoader(Loader):
    """psycopg's default (C, when psycopg-binary is installed) `timestamptz` loader, with the
    `timezone` attribute Django's cursor creation compares with its own: equal, it leaves the
    loader in place instead of registering its own on every cursor."""

    timezone = UTC

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._load = _C_LOADER(oid, context).load

    def load(self, data: Any) -> datetime:
        return self._load(data)


def use_c_timestamp_loader(sender: Any, connection: Any, **_: Any) -> None:
    """`connection_created` receiver."""
    if connection.vendor != "postgresql" or connection.timezone is not UTC:
        return
    connection.connection.adapters.register_loader(_TIMESTAMPTZ, UtcTimestamptzLoader)
