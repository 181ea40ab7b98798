"""SQLite connections are opened with the settings' PRAGMAs (core/settings/base.py): WAL, a
mapped file and a rarer checkpoint (docs/delivery.md, "SQLite's system calls")."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _pragma(name: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]


def test_connections_map_the_file_and_checkpoint_every_10000_pages():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's PRAGMAs")
    assert _pragma("journal_mode") == "wal"
    assert _pragma("synchronous") == 1  # NORMAL
    assert _pragma("mmap_size") == 256 * 1024 * 1024
    assert _pragma("wal_autocheckpoint") == 10_000
    assert _pragma("journal_size_limit") == 64 * 1024 * 1024
