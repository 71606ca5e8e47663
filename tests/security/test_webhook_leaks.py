"""Information leaks and IDOR around webhooks, the events feed, API keys and the profile page."""

import json

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse

from building_blocks.models import BuildingBlock
from epos.models import ApiKey, OutboxMessage
from epos.services import api_key_create, api_key_revoke
from epos.views import NEW_KEY_SESSION
from integrations.models import WebhookDelivery, WebhookSubscription
from tests import factories
from tests.security.support import deliver, make_delivery, make_event, make_subscription

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status
INTEGRATIONS = reverse("integrations:home")


@pytest.fixture
def loopback(settings):
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True
    return settings


# --- the events feed and deliveries only carry what the subscriber may see ----------------------


def test_dave_cannot_list_or_fetch_an_event_about_another_teams_deal(api, alice, dave, opportunity):
    message = make_event(opportunity, topic="opportunity.won")

    dave_client = api.as_user(dave)
    assert dave_client.get("/api/v1/events/").json()["results"] == []
    assert dave_client.get("/api/v1/events/?type=opportunity.won").json()["results"] == []
    detail = dave_client.get(f"/api/v1/events/{message.pk}/")
    assert detail.status_code == 404
    assert opportunity.name not in detail.content.decode()

    mine = api.as_user(alice).get(f"/api/v1/events/{message.pk}/")
    assert mine.status_code == 200
    assert mine.json()["data"]["name"] == opportunity.name


def test_a_deal_that_left_the_subscribers_team_is_no_longer_delivered_or_listed(
    api, alice, bob, team, other_team, stages, httpserver, loopback
):
    deal = factories.OpportunityFactory(name="Bob's secret", stage=stages[0], owner=bob, team=team)
    subscription = make_subscription(alice, httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_data("ok")
    message = make_event(deal)
    assert [e["id"] for e in api.as_user(alice).get("/api/v1/events/").json()["results"]] == [
        message.pk
    ]

    deal.team = other_team
    deal.save(update_fields=["team"])
    delivery = deliver(subscription, message)

    assert httpserver.log == []
    assert delivery.status == Status.SKIPPED
    assert api.get("/api/v1/events/").json()["results"] == []
    assert api.get(f"/api/v1/events/{message.pk}/").status_code == 404


def test_an_unpublished_block_is_announced_to_curators_only(api, alice, erin, httpserver, loopback):
    block = BuildingBlock.objects.create(
        title="Unreleased pricing", kind="demo_script", owner=erin, status="draft"
    )
    message = OutboxMessage.objects.create(
        topic="building_block.published",
        payload={"block_id": block.pk, "title": block.title},
        attempts=1,
    )
    subscription = make_subscription(alice, httpserver.url_for("/sa"), "building_block.published")
    httpserver.expect_request("/sa").respond_with_data("ok")

    delivery = deliver(subscription, message)

    assert httpserver.log == []
    assert delivery.status == Status.SKIPPED
    alice_client = api.as_user(alice)
    assert alice_client.get("/api/v1/events/?type=building_block.published").json()["results"] == []
    assert alice_client.get(f"/api/v1/events/{message.pk}/").status_code == 404
    erin_feed = api.as_user(erin).get("/api/v1/events/").json()["results"]
    assert [event["data"]["title"] for event in erin_feed] == ["Unreleased pricing"]


def test_a_subscriber_who_was_deactivated_gets_nothing(alice, opportunity, httpserver, loopback):
    subscription = make_subscription(alice, httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_data("ok")
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    delivery = deliver(subscription, make_event(opportunity))

    assert httpserver.log == []
    assert delivery.status == Status.SKIPPED


def test_the_integrations_page_does_not_reveal_events_of_deals_dave_may_not_see(
    client, dave, opportunity, httpserver, loopback
):
    """FINDING: fan-out creates a delivery for every subscription to the topic, and the invisible
    ones are only marked `skipped` at attempt time. Dave's /integrations/ page then lists
    "opportunity.won #<id> ... Skipped" for every deal another team wins: when and how often other
    teams win, lose and move deals (and the resend button lets him poke at them)."""
    subscription = make_subscription(dave, httpserver.url_for("/dave"), "opportunity.won")
    message = make_event(opportunity, topic="opportunity.won")
    delivery = deliver(subscription, message)
    assert delivery.status == Status.SKIPPED  # nothing was sent to dave

    client.force_login(dave)
    html = client.get(INTEGRATIONS).content.decode()

    assert f'id="delivery-{delivery.pk}"' not in html
    assert f"#{message.pk}<" not in html
    assert "Nothing delivered yet." in html


# --- IDOR ---------------------------------------------------------------------------------------


def test_dave_cannot_pause_resume_or_resend_alices_webhooks(
    client, alice, dave, opportunity, loopback
):
    paused = make_subscription(alice, "http://127.0.0.1:9/a", status="paused")
    active = make_subscription(alice, "http://127.0.0.1:9/b")
    delivery = make_delivery(active, make_event(opportunity))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.FAILED, attempts=3)
    client.force_login(dave)

    pause = client.post(reverse("integrations:subscription-pause", args=[active.pk]))
    resume = client.post(reverse("integrations:subscription-resume", args=[paused.pk]))
    resend = client.post(reverse("integrations:delivery-resend", args=[delivery.pk]))

    assert (pause.status_code, resume.status_code, resend.status_code) == (404, 404, 404)
    assert WebhookSubscription.objects.get(pk=active.pk).status == "active"
    assert WebhookSubscription.objects.get(pk=paused.pk).status == "paused"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (Status.FAILED, 3)
    html = client.get(INTEGRATIONS).content.decode()
    assert "127.0.0.1:9" not in html


def test_the_hooks_api_neither_lists_nor_deletes_another_users_hook(api, alice, dave):
    theirs = make_subscription(alice, "https://hooks.example.net/alice")
    client = api.as_user(dave)

    assert client.get("/api/v1/hooks/").json()["results"] == []
    assert client.delete(f"/api/v1/hooks/{theirs.pk}/").status_code == 204
    assert client.delete("/api/v1/hooks/99999999999999999999/").status_code in (204, 404)
    assert WebhookSubscription.objects.filter(pk=theirs.pk).exists()


def test_dave_cannot_revoke_alices_api_key(client, alice, dave):
    key, raw = api_key_create(user=alice, name="Alice laptop key")
    client.force_login(dave)

    response = client.post(reverse("profile:api-key-revoke", args=[key.pk]))

    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
    assert "Alice laptop key" not in client.get(reverse("profile:detail")).content.decode()


# --- secrets are shown once -----------------------------------------------------------------------


def test_the_signing_secret_is_only_in_the_creation_answer(api, client, alice, root, loopback):
    created = api.as_user(alice).post(
        "/api/v1/hooks/",
        {"target_url": "http://127.0.0.1:9/hook", "event": "opportunity.won"},
        format="json",
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    body = secret.removeprefix("whsec_")

    listed = api.get("/api/v1/hooks/").content.decode()
    assert body not in listed and "secret" not in json.loads(listed)["results"][0]
    for user in (alice, root):
        client.force_login(user)
        assert body not in client.get(INTEGRATIONS).content.decode()
    assert body not in WebhookSubscription.objects.get().secret_encrypted


def test_users_api_exposes_no_email_addresses(api, alice, bob, dave):
    response = api.as_user(dave).get("/api/v1/users/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert {row["username"] for row in rows} >= {"alice", "bob", "dave"}
    assert all(set(row) == {"id", "username", "name"} for row in rows)
    assert "@" not in response.content.decode()


def test_a_new_api_key_is_shown_once_and_never_kept_in_the_clear(client, alice):
    client.force_login(alice)
    created = client.post(reverse("profile:api-key-create"), {"name": "Zapier"})
    assert created.status_code == 302
    # Between the POST and the GET the key waits in the session, encrypted.
    stored = Session.objects.get(session_key=client.session.session_key).session_data
    pending = client.session[NEW_KEY_SESSION]

    first = client.get(reverse("profile:detail"))
    html = first.content.decode()
    raw = html.split('id="new-api-key"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    assert raw.startswith(ApiKey.PREFIX)
    assert raw not in stored and raw not in json.dumps(pending)
    assert "no-store" in first["Cache-Control"]

    second = client.get(reverse("profile:detail")).content.decode()
    assert raw not in second
    assert NEW_KEY_SESSION not in client.session
    key = ApiKey.objects.get(user=alice)
    assert key.digest == ApiKey.digest_of(raw) and raw not in (key.digest, key.prefix + "x")


# --- FINDING: revoking a key leaves the hooks it created delivering -----------------------------


def test_revoking_the_key_that_subscribed_stops_its_deliveries(
    api, alice, opportunity, httpserver, loopback
):
    """A leaked key (or a disconnected Zapier account) is revoked on the profile page, but the
    REST-hook subscriptions made with it stay active: the holder of the old key keeps receiving
    every deal event at their own URL. The subscription records the key (api_key) but nothing
    looks at it after creation."""
    key, raw = api_key_create(user=alice, name="Zapier")
    created = api.post(
        "/api/v1/hooks/",
        {"target_url": httpserver.url_for("/stolen"), "event": "opportunity.won"},
        format="json",
        HTTP_AUTHORIZATION=f"Token {raw}",
    )
    assert created.status_code == 201
    subscription = WebhookSubscription.objects.get(pk=created.json()["id"])
    assert subscription.api_key_id == key.pk
    httpserver.expect_request("/stolen").respond_with_data("thanks")

    api_key_revoke(key=key)
    delivery = deliver(subscription, make_event(opportunity, topic="opportunity.won"))

    assert httpserver.log == [], "the revoked key's hook still received the event"
    assert delivery.status != Status.SUCCEEDED
