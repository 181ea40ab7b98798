"""The table of the database cache (the embedded default of CACHES), made with the schema so
tests and `make run` have it; `createcachetable` in `make install` covers a later switch."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_worker_heartbeat")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
