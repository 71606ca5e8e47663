from django.core.management.base import BaseCommand

from building_blocks.services import catalog_load


class Command(BaseCommand):
    help = (
        "Load the shipped discovery catalog (business challenges, technical needs and their "
        "links). Safe on every start: it creates what was never loaded and never overwrites, "
        "brings back or duplicates what curators edited or deleted; a newer shipped version of "
        "an entry is offered to curators on /catalog/manage/."
    )

    def handle(self, *args, **options):
        for source, report in catalog_load().items():
            self.stdout.write(f"{source}: {report.summary()}")
