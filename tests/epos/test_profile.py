"""The profile page: name and email, and personal API keys (created, shown once, revoked)."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from epos.models import ApiKey
from epos.services import api_key_create, user_profile_update
from epos.views import NEW_KEY_SESSION
from tests import factories

pytestmark = pytest.mark.django_db

PROFILE = reverse("profile:detail")
CREATE = reverse("profile:api-key-create")
PROCESSES = "/api/v1/processes/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def revoke_url(key: ApiKey) -> str:
    return reverse("profile:api-key-revoke", args=[key.pk])


def shown_key(html: str) -> str:
    """The raw key in the "copy it now" box."""
    return html.split('id="new-api-key"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]


def api_get(raw: str):
    return APIClient().get(PROCESSES, HTTP_AUTHORIZATION=f"Token {raw}")


@pytest.mark.parametrize("persona", ["alice", "carol", "erin", "root", "nobody"])
def test_profile_renders_for_every_role_and_for_a_user_without_one(client, request, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    response = client.get(PROFILE)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="{user.email}"' in html
    assert reverse("password_change") in html
    assert f'href="{PROFILE}"' in html  # the user menu links here
    assert "No API keys yet." in html
    assert "no-store" in response["Cache-Control"]


def test_one_url_serves_the_page_and_the_keys_fragment(client, alice):
    api_key_create(user=alice, name="Zapier")
    client.force_login(alice)
    fragment = client.get(PROFILE, **HTMX)
    assert fragment.status_code == 200
    assert "HX-Request" in fragment["Vary"]
    html = fragment.content.decode()
    assert html.lstrip().startswith('<section class="panel" id="api-keys"')
    assert "Zapier" in html and "<html" not in html
    boosted = client.get(PROFILE, HTTP_HX_BOOSTED="true", **HTMX).content.decode()
    assert "<html" in boosted


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(PROFILE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    response = client.post(CREATE, {"name": "Zapier"})
    assert response.status_code == 302
    assert not ApiKey.objects.exists()


def test_the_page_refuses_writes_and_the_writes_refuse_reads(client, alice):
    client.force_login(alice)
    assert client.post(PROFILE).status_code == 405
    assert client.get(CREATE).status_code == 405
    assert client.get(reverse("profile:update")).status_code == 405


def test_creating_a_key_shows_it_once_and_stores_only_its_digest(client, alice):
    client.force_login(alice)
    response = client.post(CREATE, {"name": "Zapier"})
    assert response.status_code == 302
    assert response["Location"] == PROFILE + "#api-keys"
    # The raw key waits in the session encrypted, never in clear.
    pending = client.session[NEW_KEY_SESSION]
    assert not pending["raw"].startswith(ApiKey.PREFIX)

    page = client.get(PROFILE).content.decode()
    key = ApiKey.objects.get(user=alice)
    raw = shown_key(page)
    assert raw.startswith(ApiKey.PREFIX) and len(raw) > 40
    assert key.name == "Zapier"
    assert key.digest == ApiKey.digest_of(raw)
    assert raw not in (key.digest, key.prefix)
    assert f"{key.prefix}…" in page
    assert 'data-copy-target="#new-api-key"' in page

    again = client.get(PROFILE).content.decode()
    assert raw not in again
    assert f"{key.prefix}…" in again
    assert NEW_KEY_SESSION not in client.session


def test_creating_a_key_over_htmx_answers_with_the_keys_section_showing_it(client, alice):
    client.force_login(alice)
    response = client.post(CREATE, {"name": "CRM sync"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="panel" id="api-keys"')
    assert "<html" not in html
    key = ApiKey.objects.get(user=alice)
    raw = shown_key(html)
    assert key.digest == ApiKey.digest_of(raw)
    assert "no-store" in response["Cache-Control"]
    # Nothing is left behind for the next page.
    assert NEW_KEY_SESSION not in client.session
    assert raw not in client.get(PROFILE).content.decode()


@pytest.mark.parametrize(
    ("name", "error"),
    [("", "This field is required."), ("x" * 81, "at most 80 characters")],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_a_key_needs_a_name_of_at_most_80_characters(client, alice, name, error, htmx):
    client.force_login(alice)
    response = client.post(CREATE, {"name": name}, **(HTMX if htmx else {}))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_raw_key_works_until_it_is_revoked_from_the_page(client, alice):
    client.force_login(alice)
    client.post(CREATE, {"name": "Script"})
    page = client.get(PROFILE).content.decode()
    raw = shown_key(page)
    assert api_get(raw).status_code == 200
    key = ApiKey.objects.get(user=alice)
    assert key.last_used_at is not None
    assert "never" not in client.get(PROFILE).content.decode().split(key.prefix, 1)[1]

    response = client.post(revoke_url(key))
    assert response.status_code == 302
    assert response["Location"] == PROFILE + "#api-keys"
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api_get(raw).status_code == 401
    page = client.get(PROFILE).content.decode()
    assert "Revoked" in page
    assert revoke_url(key) not in page


def test_revoking_over_htmx_answers_with_the_section_and_a_toast(client, alice):
    key, raw = api_key_create(user=alice, name="Zapier")
    client.force_login(alice)
    response = client.post(revoke_url(key), **HTMX)
    assert response.status_code == 200
    assert "epos:toast" in response["HX-Trigger"]
    assert "Revoked" in response.content.decode()
    assert api_get(raw).status_code == 401


def test_revoking_twice_keeps_the_first_time(client, alice):
    key, _ = api_key_create(user=alice, name="Zapier")
    client.force_login(alice)
    client.post(revoke_url(key))
    key.refresh_from_db()
    first = key.revoked_at
    assert client.post(revoke_url(key)).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at == first


@pytest.mark.parametrize("htmx", [False, True])
def test_revoking_another_users_key_is_a_404_and_leaves_it_active(client, alice, bob, htmx):
    key, raw = api_key_create(user=bob, name="Bob's script")
    client.force_login(alice)
    response = client.post(revoke_url(key), **(HTMX if htmx else {}))
    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    assert api_get(raw).status_code == 200
    assert key.prefix not in client.get(PROFILE).content.decode()


def test_the_list_shows_name_prefix_dates_and_status(client, alice):
    active, _ = api_key_create(user=alice, name="Active one")
    revoked, _ = api_key_create(user=alice, name="Old one")
    client.force_login(alice)
    client.post(revoke_url(revoked))
    html = client.get(PROFILE).content.decode()
    for key in (active, revoked):
        assert key.name in html
        assert f"<code>{key.prefix}…</code>" in html
    assert html.count('<span class="pill pill-ok">Active</span>') == 1
    assert html.count(">Revoked</span>") == 1
    assert html.count(">never<") == 2
    assert html.count('data-confirm="Revoke the key') == 1
    assert "1 active" in html


def test_updating_the_profile_saves_and_says_so(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("profile:update"),
        {"first_name": " Alicia ", "last_name": "Arc", "email": "Alicia@Example.ORG"},
        follow=True,
    )
    assert response.redirect_chain == [(PROFILE, 302)]
    assert "Your profile was saved." in response.content.decode()
    alice.refresh_from_db()
    assert (alice.first_name, alice.last_name, alice.email) == (
        "Alicia",
        "Arc",
        "Alicia@example.org",
    )


@pytest.mark.parametrize("email", ["bob@example.com", "BOB@example.com"])
def test_an_email_another_user_has_is_refused_with_a_form_error(client, alice, bob, email):
    client.force_login(alice)
    response = client.post(
        reverse("profile:update"), {"first_name": "Al", "last_name": "Archer", "email": email}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Another user already has this email address." in html
    assert 'value="Al"' in html  # what was typed is kept
    alice.refresh_from_db()
    assert (alice.first_name, alice.email) == ("Alice", "alice@example.com")
    # The header still shows the saved name, not the refused one.
    assert "Alice Archer" in html


def test_an_invalid_email_is_refused(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("profile:update"), {"first_name": "Al", "last_name": "", "email": "not-an-email"}
    )
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    alice.refresh_from_db()
    assert alice.first_name == "Alice"


def test_the_service_lets_admins_edit_others_but_not_teammates(alice, bob, root):
    from epos.lib.errors import Forbidden

    with pytest.raises(Forbidden):
        user_profile_update(
            user=alice, actor=bob, first_name="X", last_name="Y", email="x@example.com"
        )
    updated = user_profile_update(
        user=alice, actor=root, first_name="Alice", last_name="Ames", email="alice@example.com"
    )
    assert updated.last_name == "Ames"
    assert get_user_model().objects.get(pk=alice.pk).last_name == "Ames"


@pytest.mark.parametrize("persona", ["alice", "nobody"])
def test_profile_query_budget_is_the_same_for_1_and_5_keys(
    client, request, django_assert_num_queries, persona
):
    user = request.getfixturevalue(persona)
    api_key_create(user=factories.UserFactory(), name="Someone else's")
    api_key_create(user=user, name="First")
    client.force_login(user)
    # Session, user, roles (the menu), the keys.
    with django_assert_num_queries(4):
        assert client.get(PROFILE).status_code == 200
    for number in range(4):
        api_key_create(user=user, name=f"Key {number}")
    with django_assert_num_queries(4):
        response = client.get(PROFILE)
    assert response.content.decode().count('data-confirm="Revoke the key') == 5
