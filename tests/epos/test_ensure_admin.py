"""`manage.py ensure_admin`: the first admin of a deployment from the environment, once."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from epos.lib.roles import ADMIN, user_roles

pytestmark = pytest.mark.django_db

User = get_user_model()
STRONG = "correct-horse-battery-staple-42"


def run(monkeypatch, **env) -> str:
    for name in ("EPOS_ADMIN_USERNAME", "EPOS_ADMIN_EMAIL", "EPOS_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_creates_the_first_admin_once_and_never_touches_it_again(monkeypatch):
    said = run(monkeypatch, EPOS_ADMIN_EMAIL="ops@example.com", EPOS_ADMIN_PASSWORD=STRONG)

    admin = User.objects.get(username="admin")
    assert "Created the admin 'admin'" in said
    assert (admin.email, admin.is_superuser, admin.is_staff) == ("ops@example.com", True, True)
    assert admin.check_password(STRONG)
    assert ADMIN in user_roles(admin)

    # The next start, with another password in the environment: nothing changes.
    again = run(
        monkeypatch, EPOS_ADMIN_EMAIL="x@example.com", EPOS_ADMIN_PASSWORD="other-pw-123456"
    )
    admin.refresh_from_db()
    assert "exists already" in again
    assert admin.check_password(STRONG)
    assert User.objects.count() == 1


def test_without_the_variables_it_says_how_to_make_one(monkeypatch):
    said = run(monkeypatch)

    assert "createsuperuser" in said
    assert User.objects.count() == 0


def test_a_weak_password_is_refused_with_the_reason(monkeypatch):
    with pytest.raises(CommandError, match="EPOS_ADMIN_PASSWORD"):
        run(monkeypatch, EPOS_ADMIN_EMAIL="ops@example.com", EPOS_ADMIN_PASSWORD="123")

    assert User.objects.count() == 0


def test_an_existing_user_of_that_name_is_not_promoted(monkeypatch, alice):
    with pytest.raises(CommandError, match="exists but is not an admin"):
        run(
            monkeypatch,
            EPOS_ADMIN_USERNAME="alice",
            EPOS_ADMIN_EMAIL="ops@example.com",
            EPOS_ADMIN_PASSWORD=STRONG,
        )

    alice.refresh_from_db()
    assert not alice.is_superuser
