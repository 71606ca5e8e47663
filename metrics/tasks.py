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
