"""The GIN index behind full-text search: PostgreSQL only (the column is unused on SQLite)."""

from django.db import migrations

SEARCH_INDEX = "building_blocks_search_gin"


def create_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("building_blocks", "BuildingBlock")._meta.db_table
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS {SEARCH_INDEX} ON "{table}" USING gin (search_vector)'
    )


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {SEARCH_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("building_blocks", "0001_initial")]

    operations = [migrations.RunPython(create_search_index, drop_search_index, elidable=False)]
