"""Recompute the derived columns of the stage history (visit ends and passes)."""

from django.core.management.base import BaseCommand

from opportunities.services import transitions_relink


class Command(BaseCommand):
    help = (
        "Recompute StageTransition.left_at and passed_at from the order of each deal's history. "
        "EPOS keeps them itself; run this after editing transitions outside the application."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "opportunity_ids", nargs="*", type=int, help="Only these deals (default: all)"
        )

    def handle(self, *args, opportunity_ids, **options):
        changed = transitions_relink(opportunity_ids=opportunity_ids or None)
        self.stdout.write(f"{changed} visit end(s) corrected.")
