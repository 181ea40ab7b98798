"""PostgreSQL connections read timestamps with psycopg's C loader (core/postgres.py), and read
what Django's own loader read."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from psycopg.postgres import types
from psycopg.pq import Format

from core.postgres import UtcTimestamptzLoader

pytestmark = pytest.mark.django_db


def _loader():
    return connection.connection.adapters.get_loader(types["timestamptz"].oid, Format.TEXT)


def test_connections_read_timestamps_with_the_c_loader(require_postgres):
    connection.ensure_connection()
    with connection.cursor():  # Django's cursor leaves it in place (same timezone attribute)
        assert _loader() is UtcTimestamptzLoader


def test_timestamps_read_back_as_written_in_utc(require_postgres):
    written = [
        datetime(2026, 12, 7, 11, 51, 25, 378095, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, tzinfo=UTC) + timedelta(microseconds=1),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT unnest(%s::timestamptz[]), NULL::timestamptz, %s::timestamptz",
            [written, "2026-03-29 02:30:00+02:00"],
        )
        rows = cursor.fetchall()

    assert [row[0] for row in rows] == written
    assert all(row[0].tzinfo is UTC and row[1] is None for row in rows)
    # A value given in another offset comes back as the same instant, in UTC.
    assert rows[0][2] == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert rows[0][2].tzinfo is UTC
