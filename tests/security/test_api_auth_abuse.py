"""Authentication with odd keys and headers, CSRF with a session, and input abuse on the hooks
and events endpoints."""

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from epos.models import ApiKey, OutboxMessage
from epos.services import api_key_create, api_key_revoke
from integrations.models import WebhookSubscription
from tests.security.support import make_subscription

pytestmark = pytest.mark.django_db

HOOKS = "/api/v1/hooks/"
EVENTS = "/api/v1/events/"
PUBLIC_URL = "http://93.184.216.34/hook"  # an IP literal: resolves without DNS


# --- authentication -------------------------------------------------------------------------------


def test_revoked_unknown_and_inactive_users_keys_are_refused_alike(api, alice, bob):
    _, revoked = api_key_create(user=alice)
    api_key_revoke(key=ApiKey.objects.get(digest=ApiKey.digest_of(revoked)))
    _, inactive = api_key_create(user=bob)
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    unknown = ApiKey.generate()

    answers = [
        api.get(HOOKS, HTTP_AUTHORIZATION=f"Token {raw}") for raw in (revoked, inactive, unknown)
    ]

    # Same status and same words: the answer does not tell which keys exist.
    assert {answer.status_code for answer in answers} == {401}
    assert {answer.content for answer in answers} == {answers[0].content}
    assert answers[0].json() == {"detail": "Invalid or revoked API key."}


@pytest.mark.parametrize(
    "header",
    [
        b"Token",
        b"Token ",
        b"Token a b",
        b"Token \xff\xfe",
        b"Token epos_",
        b"Token %00",
        b"TOKEN nope",
    ],
    ids=["no-key", "blank", "two-parts", "not-utf8", "prefix-only", "percent-nul", "upper"],
)
def test_malformed_token_headers_are_401(api, alice, header):
    api_key_create(user=alice)

    response = api.get(HOOKS, HTTP_AUTHORIZATION=header.decode("latin-1"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_key_with_its_case_changed_or_padded_is_not_accepted(api, alice):
    _, raw = api_key_create(user=alice)
    assert api.get(HOOKS, HTTP_AUTHORIZATION=f"Token {raw}").status_code == 200

    assert api.get(HOOKS, HTTP_AUTHORIZATION=f"Token {raw.swapcase()}").status_code == 401
    assert api.get(HOOKS, HTTP_AUTHORIZATION=f"Token {raw}x").status_code == 401
    assert api.get(HOOKS, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_anonymous_and_roleless_callers_are_refused(api, nobody):
    for url in (HOOKS, EVENTS, "/api/v1/users/"):
        assert api.get(url).status_code == 401
    client = api.as_user(nobody)
    assert client.get(EVENTS).status_code == 403
    created = client.post(HOOKS, {"target_url": PUBLIC_URL, "event": "opportunity.won"})
    assert created.status_code == 403
    assert WebhookSubscription.objects.count() == 0


def test_session_auth_on_the_hooks_api_enforces_csrf(alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)

    response = browser.post(
        HOOKS,
        json.dumps({"target_url": PUBLIC_URL, "event": "opportunity.won"}),
        content_type="application/json",
    )

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert WebhookSubscription.objects.count() == 0


def test_the_integrations_actions_and_key_creation_enforce_csrf(alice):
    subscription = make_subscription(alice, PUBLIC_URL)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)

    pause = browser.post(reverse("integrations:subscription-pause", args=[subscription.pk]))
    create_key = browser.post(reverse("profile:api-key-create"), {"name": "x"})

    assert (pause.status_code, create_key.status_code) == (403, 403)
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert not ApiKey.objects.filter(user=alice).exists()


# --- input abuse ----------------------------------------------------------------------------------


def test_the_subscription_cap_holds_and_paused_hooks_count(api, alice, settings):
    settings.EPOS_WEBHOOK_MAX_SUBSCRIPTIONS = 3
    client = api.as_user(alice)
    ids = []
    for n in range(3):
        created = client.post(
            HOOKS, {"target_url": f"{PUBLIC_URL}/{n}", "event": "opportunity.won"}
        )
        assert created.status_code == 201
        ids.append(created.json()["id"])
    WebhookSubscription.objects.filter(pk=ids[0]).update(status="paused")

    refused = client.post(HOOKS, {"target_url": PUBLIC_URL, "event": "opportunity.won"})

    assert refused.status_code == 409
    assert "3 webhook subscriptions" in refused.json()["detail"]
    assert WebhookSubscription.objects.filter(user=alice).count() == 3
    assert client.delete(f"{HOOKS}{ids[1]}/").status_code == 204
    assert (
        client.post(HOOKS, {"target_url": PUBLIC_URL, "event": "opportunity.won"}).status_code
        == 201
    )


@pytest.mark.parametrize(
    "event", ["deal.won", "", "opportunity.won\x00", "OPPORTUNITY.WON", None], ids=repr
)
def test_unknown_event_names_are_refused(api, alice, event):
    response = api.as_user(alice).post(
        HOOKS, {"target_url": PUBLIC_URL, "event": event}, format="json"
    )

    assert response.status_code == 400
    assert "event" in response.json()
    assert WebhookSubscription.objects.count() == 0


def test_a_huge_request_body_is_refused_without_a_subscription(api, alice):
    body = json.dumps(
        {"target_url": PUBLIC_URL, "event": "opportunity.won", "pad": "x" * 3_000_000}
    )

    response = api.as_user(alice).post(HOOKS, body, content_type="application/json")

    assert response.status_code in (400, 413)
    assert WebhookSubscription.objects.count() == 0


@pytest.mark.parametrize("topic", ["nope", "x" * 5000])
def test_the_events_feed_refuses_an_unknown_type(api, root, topic):
    response = api.as_user(root).get(EVENTS, {"type": topic})

    assert response.status_code == 400
    assert "Unknown event type" in response.json()["type"][0]


def test_a_nul_byte_anywhere_in_the_address_is_a_400_with_a_message(api, root):
    response = api.as_user(root).get(EVENTS, {"type": "opportunity.won\x00"})

    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


@pytest.mark.parametrize("suffix", ["99999999999999999999/", "-1/", "0/", "9223372036854775808/"])
def test_out_of_range_event_ids_are_404(api, root, suffix):
    response = api.as_user(root).get(f"{EVENTS}{suffix}")

    assert response.status_code == 404


@pytest.mark.parametrize("pk", ["1e3", "abc", "1%20"])
def test_a_non_numeric_event_id_is_404_not_a_server_error(api, alice, pk):
    """FINDING: EventViewSet.get_object uses Django's get_object_or_404, which lets the ValueError
    of `pk="abc"` escape (DRF's own get_object_or_404 turns it into a 404): any SA gets a 500 and
    an error report per request."""
    client = api.as_user(alice)
    client.raise_request_exception = False

    response = client.get(f"{EVENTS}{pk}/")

    assert response.status_code == 404


@pytest.mark.parametrize("pk", ["abc", "1e3"])
def test_deleting_a_hook_with_a_non_numeric_id_is_not_a_server_error(api, alice, pk):
    """FINDING: HookViewSet.destroy filters `pk=self.kwargs["pk"]` as is: a ValueError, a 500."""
    hook = make_subscription(alice, PUBLIC_URL)
    client = api.as_user(alice)
    client.raise_request_exception = False

    response = client.delete(f"{HOOKS}{pk}/")

    assert response.status_code in (204, 404)
    assert WebhookSubscription.objects.filter(pk=hook.pk).exists()


def test_page_size_is_capped(api, root):
    now = timezone.now()
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            topic="opportunity.created",
            payload={"opportunity_id": n},
            attempts=1,
            dispatched_at=now,
        )
        for n in range(1, 206)
    )
    client = api.as_user(root)

    huge = client.get(EVENTS, {"page_size": 100000}).json()
    negative = client.get(EVENTS, {"page_size": -1}).json()

    assert huge["count"] == 205
    assert len(huge["results"]) == 200
    assert len(negative["results"]) == 50
    assert client.get(EVENTS, {"page": 99999999999999999999}).status_code == 404


def test_nul_bytes_and_overlong_key_names_create_no_key(client, alice):
    client.force_login(alice)

    for name in ("x" * 81, ""):
        response = client.post(reverse("profile:api-key-create"), {"name": name})
        assert response.status_code == 200  # the page again, with the form's error
    refused = client.post(reverse("profile:api-key-create"), {"name": "Zap\x00ier"})
    assert refused.status_code == 400  # a NUL byte never reaches a form

    assert not ApiKey.objects.filter(user=alice).exists()
