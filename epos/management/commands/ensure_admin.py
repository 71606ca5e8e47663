"""The first admin of a new deployment, from the environment, once.

The compose `migrate` service runs this on every start; it creates the admin only while the
database has none, so later starts (and a changed or removed password) never touch the account.
"""

import os

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from epos.lib.roles import ADMIN, assign_role, ensure_role_groups


class Command(BaseCommand):
    help = (
        "Create the first admin from EPOS_ADMIN_USERNAME (default admin), EPOS_ADMIN_EMAIL and "
        "EPOS_ADMIN_PASSWORD when the database has no admin yet; otherwise do nothing."
    )

    def handle(self, *args, **options):
        User = get_user_model()
        username = os.environ.get("EPOS_ADMIN_USERNAME", "").strip() or "admin"
        email = os.environ.get("EPOS_ADMIN_EMAIL", "").strip()
        password = os.environ.get("EPOS_ADMIN_PASSWORD", "")
        with transaction.atomic():
            groups = ensure_role_groups()
            has_admin = (
                User.objects.select_for_update().filter(is_superuser=True).exists()
                or groups[ADMIN].user_set.exists()
            )
            if has_admin:
                self.stdout.write("An admin exists already; nothing to do.")
                return
            if not (email and password):
                self.stdout.write(
                    "No admin yet. Create one with `manage.py createsuperuser`, or set "
                    "EPOS_ADMIN_EMAIL and EPOS_ADMIN_PASSWORD and start again."
                )
                return
            if User.objects.filter(username=username).exists():
                raise CommandError(
                    f"A user named {username!r} exists but is not an admin; set "
                    "EPOS_ADMIN_USERNAME to another name."
                )
            user = User(username=username, email=email, is_staff=True, is_superuser=True)
            try:
                validate_password(password, user)
            except ValidationError as error:
                raise CommandError("EPOS_ADMIN_PASSWORD: " + " ".join(error.messages)) from error
            user.set_password(password)
            user.full_clean()
            user.save()
            assign_role(user, ADMIN)
        self.stdout.write(self.style.SUCCESS(f"Created the admin {username!r} ({email})."))
