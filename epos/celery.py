import os

from celery import Celery
from celery.schedules import crontab

from epos.env import env_int

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "epos.settings")

app = Celery("epos")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Anything the on-commit dispatch missed (broker down, worker died) is picked up here.
    "outbox-sweep": {"task": "epos.tasks.outbox_sweep", "schedule": 60.0},
    # Webhook retries whose time came, and attempts whose worker died (their lease ran out).
    "webhooks-sweep": {"task": "integrations.tasks.webhooks_sweep", "schedule": 15.0},
    # One sync run per enabled connection (Vivun, Google); a connection already running is skipped.
    # EPOS_SYNC_FAN_OUT_SECONDS shortens it where a test watches a real beat.
    "sync-fan-out": {
        "task": "integrations.tasks.sync_fan_out",
        "schedule": float(env_int("EPOS_SYNC_FAN_OUT_SECONDS", 300)),
    },
    "metric-snapshot-daily": {
        "task": "metrics.tasks.snapshot_daily",
        "schedule": crontab(minute=5, hour=0),
    },
    "blocks-review-due": {
        "task": "building_blocks.tasks.review_due_reminders",
        "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
    },
}
