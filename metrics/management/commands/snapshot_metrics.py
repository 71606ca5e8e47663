from datetime import date

from django.core.management.base import BaseCommand, CommandError

from metrics import services


class Command(BaseCommand):
    help = (
        "Store today's pipeline snapshot (what the daily beat task does); --backfill N rebuilds "
        "the missing snapshots of the last N days from the stage transitions."
    )

    def add_arguments(self, parser):
        parser.add_argument("--day", help="YYYY-MM-DD instead of today")
        parser.add_argument("--backfill", type=int, default=0, metavar="DAYS")

    def handle(self, *args, day=None, backfill=0, **options):
        try:
            when = date.fromisoformat(day) if day else None
        except ValueError as exc:
            raise CommandError(f"--day: {exc}") from exc
        if backfill < 0 or backfill > 3660:
            raise CommandError("--backfill takes 0 to 3660 days.")
        if backfill:
            rows = services.metric_snapshot_backfill(days=backfill, today=when)
            self.stdout.write(f"Backfilled {rows} snapshot rows over {backfill} days.")
        rows = services.metric_snapshot_take(day=when)
        self.stdout.write(f"Stored {rows} snapshot rows for {when or 'today'}.")
