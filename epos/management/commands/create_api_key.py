from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from epos.models import ApiKey
from epos.services import api_key_create


class Command(BaseCommand):
    help = "Create a personal API key for a user and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to tell keys apart")
        parser.add_argument(
            "--system",
            default="",
            choices=[value for value in ApiKey.System.values if value],
            help="An integration's key: what it writes is marked as coming from this system",
        )

    def handle(self, *args, username, name, system, **options):
        User = get_user_model()
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {username!r}") from exc
        key, raw = api_key_create(user=user, name=name, system=system)
        self.stdout.write(raw)
        self.stderr.write(
            f"Created key {key.prefix}… for {username}. Store it now: it cannot be shown again."
        )
