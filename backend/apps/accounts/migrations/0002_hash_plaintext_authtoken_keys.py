"""Retire DRF's plaintext token table: every key it holds becomes a hashed API token (the same
key keeps working), then the plaintext rows are deleted.

The `authtoken` app is no longer installed, so its table is read with SQL, if it exists. The
empty table is left in place: dropping it would contradict the `authtoken` rows of
django_migrations if that app were ever installed again.
"""

import hashlib

from django.db import migrations

TABLE = "authtoken_token"


def hash_plaintext_keys(apps, schema_editor):
    connection = schema_editor.connection
    if TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("accounts", "ApiToken")
    quoted = connection.ops.quote_name(TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name('key')}, created, user_id FROM {quoted}")  # noqa: S608
        rows = cursor.fetchall()
    ApiToken.objects.bulk_create(
        [
            ApiToken(
                user_id=user_id,
                name="API token (made before tokens were hashed)",
                digest=hashlib.sha256(key.encode()).hexdigest(),
                key_start=key[:12],
                created_at=created,
            )
            for key, created, user_id in rows
        ],
        ignore_conflicts=True,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quoted}")  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(hash_plaintext_keys, migrations.RunPython.noop)]
