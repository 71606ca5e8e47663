"""Failed logins (django-axes) and failed API keys are throttled: a clear "try again in N
minutes" and a 429; a success resets a login's count; an admin can unlock at once."""

from io import StringIO

import pytest
from django.core.management import call_command

from epos.services import api_key_create

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def attempt(client, username, password, address="10.1.1.1", **headers):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


@pytest.fixture
def with_password(alice, bob):
    for user in (alice, bob):
        user.set_password("right-password-1")
        user.save()
    return "right-password-1"


def test_five_failures_lock_the_login_with_a_clear_wait(client, alice, with_password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "alice", "wrong").status_code == 200  # the form, with an error

    locked = attempt(client, "alice", "wrong")
    still_locked = attempt(client, "alice", with_password)

    assert locked.status_code == 429
    assert "Try again in 15 minutes." in locked.content.decode()
    assert still_locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_success_resets_the_count(client, alice, with_password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "alice", "wrong")
    assert attempt(client, "alice", with_password).status_code == 302
    client.logout()

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "alice", "wrong").status_code == 200
    assert attempt(client, "alice", with_password).status_code == 302


def test_an_admin_unlocks_at_once(client, alice, with_password, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "alice", "wrong")
    assert attempt(client, "alice", with_password).status_code == 429

    call_command("axes_reset", stdout=StringIO())

    assert attempt(client, "alice", with_password).status_code == 302


def test_another_user_from_another_address_is_not_locked_out(
    client, alice, bob, with_password, settings
):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "alice", "wrong", address="10.1.1.1")

    assert attempt(client, "bob", with_password, address="10.2.2.2").status_code == 302


def test_behind_the_proxy_each_user_is_counted_by_their_own_address(
    client, alice, bob, with_password, settings
):
    settings.FORWARDED_ALLOW_IPS = ["10.9.9.9"]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "alice", "wrong", address="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.7")

    # Bob comes through the same proxy from elsewhere: not locked with alice's address.
    ok = attempt(
        client, "bob", with_password, address="10.9.9.9", HTTP_X_FORWARDED_FOR="198.51.100.2"
    )
    assert ok.status_code == 302


def test_a_client_cannot_choose_its_address_with_a_header(
    client, alice, bob, with_password, settings
):
    settings.FORWARDED_ALLOW_IPS = ["10.9.9.9"]
    for n in range(settings.AXES_FAILURE_LIMIT):
        # Not from the proxy: the header is ignored, so every attempt counts against 10.1.1.1.
        attempt(client, "alice", "wrong", address="10.1.1.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    assert attempt(client, "bob", with_password, address="10.1.1.1").status_code == 429


def test_failed_api_keys_get_429_after_the_limit_and_a_valid_key_still_works(
    client, alice, settings
):
    settings.EPOS_API_KEY_FAILURE_LIMIT = 3
    _, raw = api_key_create(user=alice)
    wrong = {"HTTP_AUTHORIZATION": "Token epos_not-a-key", "REMOTE_ADDR": "10.3.3.3"}

    answers = [client.get("/api/v1/me/", **wrong) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [401, 401, 401, 429]
    assert "try again in 10 minutes" in answers[-1].json()["detail"]
    assert answers[-1]["Retry-After"] == "600"
    valid = client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {raw}", REMOTE_ADDR="10.3.3.3")
    assert valid.status_code == 200
