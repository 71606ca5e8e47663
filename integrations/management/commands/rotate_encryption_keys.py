"""Re-encrypt every stored secret under the newest key of EPOS_ENCRYPTION_KEYS.

Rotation: put the new key first in EPOS_ENCRYPTION_KEYS (keep the old ones after it), run this,
then drop the old keys. All or nothing: one secret no configured key can read stops the command
before anything is written, naming the row, so no credential is ever replaced by an empty one.
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from epos.lib import crypto
from integrations.models import Connection, WebhookSubscription

# (model, encrypted field, how a row is named in messages)
SECRETS = (
    (Connection, "credentials_encrypted", "connection"),
    (WebhookSubscription, "secret_encrypted", "webhook subscription"),
)


class Command(BaseCommand):
    help = "Re-encrypt connection credentials and webhook secrets under the newest key."

    def handle(self, *args, **options):
        fernet = crypto.fernet()
        total = 0
        with transaction.atomic():
            for model, field, label in SECRETS:
                rows = model.objects.select_for_update().exclude(**{field: ""}).only("pk", field)
                changed = []
                for row in rows:
                    try:
                        rotated = fernet.rotate(getattr(row, field).encode()).decode()
                    except InvalidToken as error:
                        raise CommandError(
                            f"The {label} {row.pk} cannot be decrypted with any key of "
                            "EPOS_ENCRYPTION_KEYS; put the key it was written with back in the "
                            "list (after the new one) and run this again. Nothing was changed."
                        ) from error
                    setattr(row, field, rotated)
                    changed.append(row)
                model.objects.bulk_update(changed, [field], batch_size=500)
                total += len(changed)
        self.stdout.write(f"Re-encrypted {total} secrets under the newest key.")
