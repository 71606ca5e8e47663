import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "epos.settings")

app = Celery("epos")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Anything the on-commit dispatch missed (broker down, worker died) is picked up here.
    "outbox-sweep": {"task": "integrations.tasks.outbox_sweep", "schedule": 60.0},
    "stale-deal-flags": {
        "task": "opportunities.tasks.flag_stale_opportunities",
        "schedule": crontab(minute=15, hour=6),
    },
}
