"""A search-vector column that exists on every database but only works on PostgreSQL."""

from django.contrib.postgres.search import SearchVectorField as PostgresSearchVectorField


class SearchVectorField(PostgresSearchVectorField):
    """`tsvector` on PostgreSQL; an unused, always-NULL text column anywhere else.

    One model definition and one migration serve both databases: on SQLite the column is never
    written (the save service only refreshes it on PostgreSQL) and search falls back to
    `icontains`. The GIN index over it is created by the migration on PostgreSQL only.
    """

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "tsvector"
        return "text"
