"""Thin Celery wrappers around building-block services."""

from celery import shared_task

from building_blocks import services


@shared_task(soft_time_limit=120, time_limit=180)
def review_due_reminders() -> dict[str, int]:
    """Weekly: mail every owner the published blocks whose review date has passed.

    Idempotent enough for a weekly beat: running it twice sends the same list twice, nothing
    else changes.
    """
    return services.review_due_remind()
