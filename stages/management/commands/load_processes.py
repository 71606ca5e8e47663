from django.core.management.base import BaseCommand, CommandError

from stages.services import InvalidTemplate, processes_load_builtin


class Command(BaseCommand):
    help = (
        "Load the built-in process templates. Safe to run on every start: it never overwrites "
        "or brings back what people edited or deleted; a changed template is offered as a "
        "draft version for an admin to activate."
    )

    def handle(self, *args, **options):
        try:
            results = processes_load_builtin()
        except InvalidTemplate as error:
            raise CommandError(error.message) from error
        for result in results:
            line = (
                f"{result.action.replace('_', ' ')} {result.process or result.slug} "
                f"({result.stage_count} stages, {result.item_count} items)"
            )
            style = self.style.SUCCESS if result.action != "unchanged" else str
            self.stdout.write(style(line))
