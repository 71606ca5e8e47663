"""Reads of connections and runs for the API and the /integrations/ page."""

from django.db.models import OuterRef, QuerySet, Subquery

from integrations.models import Connection, SyncRun


def connections_list() -> QuerySet[Connection]:
    return Connection.objects.order_by("name", "id")


def sync_runs_list(*, connection_id: int | None = None) -> QuerySet[SyncRun]:
    runs = SyncRun.objects.order_by("-created_at", "-id")
    if connection_id is not None:
        runs = runs.filter(connection_id=connection_id)
    return runs


def connections_for_page() -> QuerySet[Connection]:
    """Connections with their latest run's status and time, in one query."""
    latest = SyncRun.objects.filter(connection=OuterRef("pk")).order_by("-created_at", "-id")
    return connections_list().annotate(
        last_run_status=Subquery(latest.values("status")[:1]),
        last_run_at=Subquery(latest.values("created_at")[:1]),
    )


def recent_runs(*, limit: int = 20) -> QuerySet[SyncRun]:
    return sync_runs_list().select_related("connection")[:limit]


def connection_get(*, pk: int) -> Connection | None:
    return Connection.objects.filter(pk=pk).first()
