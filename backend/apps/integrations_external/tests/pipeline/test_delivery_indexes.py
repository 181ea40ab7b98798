"""The indexes every delivery write maintains: nothing a lookup never uses (migrations 0013,
0014)."""

from django.db import connection

from apps.integrations_external.pipeline import channels


def _indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


def test_delivery_tables_have_no_unused_like_copies(require_postgres):
    for channel in channels.all_channels():
        table = channel.delivery_model._meta.db_table
        definitions = _indexes(table).values()
        for column in ("event_type", "event_id", "status"):
            assert not [d for d in definitions if f"({column} varchar_pattern_ops)" in d], table


def test_delivery_tables_index_status_once_with_the_due_time(require_postgres):
    for channel in channels.all_channels():
        table = channel.delivery_model._meta.db_table
        led_by_status = [d for d in _indexes(table).values() if "btree (status" in d]
        assert len(led_by_status) == 1, (table, led_by_status)
        assert "(status, next_attempt_at)" in led_by_status[0]
