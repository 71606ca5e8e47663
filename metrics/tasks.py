from datetime import date

from celery import shared_task
from django.db import IntegrityError

from metrics import services


# Beat runs it once a day; a run colliding with another on the unique day rows is retried.
@shared_task(bind=True, max_retries=3, default_retry_delay=60, soft_time_limit=300, time_limit=360)
def snapshot_daily(self, day: str | None = None) -> int:
    try:
        return services.metric_snapshot_take(day=date.fromisoformat(day) if day else None)
    except IntegrityError as exc:
        raise self.retry(exc=exc) from exc


# Queued by the dashboard page when it served figures older than the latest changes; the page
# reloads itself once this is done. Computing reads only: nothing to retry but a timeout.
@shared_task(soft_time_limit=120, time_limit=150, ignore_result=True)
def dashboard_refresh(user_id: int, query: dict, today: str, scope_key: str) -> bool:
    from metrics import dashboard

    return dashboard.refresh(
        user_id=user_id, query=query, today=date.fromisoformat(today), scope_key=scope_key
    )
