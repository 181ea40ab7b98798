# On PostgreSQL Django gives every indexed text column (and a foreign key to a text key) a
# second `varchar_pattern_ops` copy for LIKE; nothing filters deliveries' `event_type` or
# `event_id` by prefix, so those copies were only written: two of the thirteen indexes each
# delivery's insert, lease and outcome update (none of them HOT) maintained. The plain indexes
# stay. Django's own later changes of these fields drop the copies with IF EXISTS.

from django.db import migrations

DELIVERY_TABLES = [
    "integrations_external_webhookdelivery",
    "integrations_external_slackdelivery",
    "integrations_external_emaildelivery",
    "integrations_external_githubissuedelivery",
    "integrations_external_teamsdelivery",
]


def drop_like_copies(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # only PostgreSQL makes them
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)"
            " AND indexdef LIKE '%%varchar_pattern_ops%%'"
            " AND (indexdef LIKE '%%(event_type %%' OR indexdef LIKE '%%(event_id %%')",
            [DELIVERY_TABLES],
        )
        names = [name for (name,) in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [("integrations_external", "0013_delivery_status_index")]

    operations = [migrations.RunPython(drop_like_copies, migrations.RunPython.noop, elidable=True)]
