"""Trigram indexes for the top bar's search (PostgreSQL only).

The search (opportunities/search.py) matches names with `icontains`, which Django writes as
`UPPER(name::text) LIKE UPPER('%text%')`: a leading wildcard no B-tree serves, so every
keystroke read all 100,000 bench deals (70-150 ms for an admin) and all 6,000 contacts, four
patterns each for a two-letter text (8-29 ms). GIN indexes of pg_trgm on the same expressions
answer the rare texts from the index (under 1 ms); common ones walk the `-created_at` index and
stop at the first matches. pg_trgm is a trusted extension (PostgreSQL 13+): the database owner
may create it. SQLite keeps scanning, which its sizes allow.
"""

from django.db import migrations

INDEXES = {
    "opportunity_name_trgm_idx": ("opportunities_opportunity", "name"),
    "account_name_trgm_idx": ("opportunities_account", "name"),
    "contact_name_trgm_idx": ("opportunities_contact", "name"),
    "contact_email_trgm_idx": ("opportunities_contact", "email"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
            f"USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("opportunities", "0013_saved_view")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
