from django.core.management.base import BaseCommand, CommandError

from stages.services import InvalidTemplate, processes_load_builtin


class Command(BaseCommand):
    help = (
        "Load the built-in process templates. Safe to run on every start: unchanged templates "
        "are left alone, and a changed template that already has opportunities gets a new "
        "version instead of rewriting the one its deals run on."
    )

    def handle(self, *args, **options):
        try:
            results = processes_load_builtin()
        except InvalidTemplate as error:
            raise CommandError(error.message) from error
        for result in results:
            line = (
                f"{result.action.replace('_', ' ')} {result.process} "
                f"({result.stage_count} stages, {result.item_count} items)"
            )
            style = self.style.SUCCESS if result.action != "unchanged" else str
            self.stdout.write(style(line))
