from django.core.management.base import BaseCommand

from building_blocks.services import catalog_load


class Command(BaseCommand):
    help = (
        "Create or update the discovery catalog (business challenges, technical needs and the "
        "links between them). Safe to run again: entries are matched on their slugs."
    )

    def handle(self, *args, **options):
        counts = catalog_load()
        self.stdout.write(
            self.style.SUCCESS(
                f"Catalog loaded: {counts['challenges']} challenges, {counts['needs']} needs, "
                f"{counts['links']} links."
            )
        )
