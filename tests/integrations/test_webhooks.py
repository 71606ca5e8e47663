"""Webhooks: subscriptions over the API, fan-out, signed deliveries to a real HTTP receiver on
loopback (pytest-httpserver), retries, 410, 429, visibility and the events feed."""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook
from werkzeug import Response

from epos.models import OutboxMessage
from epos.outbox import outbox_quiet
from epos.services import outbox_dispatch
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks import services
from integrations.webhooks.events import event_body
from opportunities.services import opportunity_move_to_stage
from tests import factories

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status


def subscribe(api, user, url, event="opportunity.stage_changed"):
    response = api.as_user(user).post("/api/v1/hooks/", {"target_url": url, "event": event})
    assert response.status_code == 201, response.content
    return response.json()


def move(opportunity, stage, actor, capture):
    """Move (as the system: the gates are not what these tests are about) and run what the
    commit kicks off: the dispatcher, then the deliveries."""
    with capture(execute=True):
        return opportunity_move_to_stage(
            opportunity=opportunity, to_stage=stage, actor=None, override_reason="test"
        )


def make_due(delivery_id):
    WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


# --- subscribing -------------------------------------------------------------------------------


def test_subscribe_answers_201_with_a_signing_secret_shown_once(
    api, alice, httpserver, allow_private_targets
):
    url = httpserver.url_for("/hook")
    created = subscribe(api, alice, url)

    assert created["target_url"] == url
    assert created["event"] == "opportunity.stage_changed"
    assert created["status"] == "active"
    assert created["secret"].startswith("whsec_")
    subscription = WebhookSubscription.objects.get(pk=created["id"])
    assert subscription.user == alice
    assert subscription.api_key is not None
    # Stored encrypted, readable by the dispatcher.
    assert created["secret"] not in subscription.secret_encrypted
    assert subscription.secret == created["secret"]
    listed = api.get("/api/v1/hooks/").json()["results"]
    assert [hook["id"] for hook in listed] == [created["id"]]
    assert "secret" not in listed[0]


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({"target_url": "https://example.com/h", "event": "deal.won"}, "event", "not a valid"),
        ({"target_url": "ftp://example.com/h", "event": "opportunity.won"}, "target_url", "http"),
        ({"target_url": "https://", "event": "opportunity.won"}, "target_url", "host"),
        (
            {"target_url": "http://127.0.0.1:9/h", "event": "opportunity.won"},
            "target_url",
            "loopback",
        ),
        ({"target_url": "http://10.1.2.3/h", "event": "opportunity.won"}, "target_url", "private"),
        (
            {"target_url": "http://169.254.169.254/latest", "event": "opportunity.won"},
            "target_url",
            "private",
        ),
        ({"target_url": "http://[::1]:80/h", "event": "opportunity.won"}, "target_url", "loopback"),
        (
            {"target_url": "http://[::ffff:127.0.0.1]/h", "event": "opportunity.won"},
            "target_url",
            "private",
        ),
        (
            {"target_url": "http://localhost:8000/h", "event": "opportunity.won"},
            "target_url",
            "private",
        ),
        (
            {"target_url": "http://user:pw@example.com/h", "event": "opportunity.won"},
            "target_url",
            "password",
        ),
    ],
)
def test_subscribe_refuses_bad_events_and_private_targets_with_a_message(
    api, alice, payload, field, words
):
    response = api.as_user(alice).post("/api/v1/hooks/", payload)

    assert response.status_code == 400, response.content
    body = response.json()
    message = json.dumps(body)
    assert field in message
    assert words in message
    assert WebhookSubscription.objects.count() == 0


def test_one_person_may_hold_only_so_many_subscriptions(
    api, alice, bob, httpserver, allow_private_targets, settings
):
    settings.EPOS_WEBHOOK_MAX_SUBSCRIPTIONS = 2
    for _ in range(2):
        subscribe(api, alice, httpserver.url_for("/a"))

    refused = api.as_user(alice).post(
        "/api/v1/hooks/", {"target_url": httpserver.url_for("/a"), "event": "opportunity.won"}
    )

    assert refused.status_code == 409
    assert "2 webhook subscriptions" in refused.json()["detail"]
    assert WebhookSubscription.objects.filter(user=alice).count() == 2
    subscribe(api, bob, httpserver.url_for("/b"))


def test_unsubscribe_is_204_also_when_gone_and_never_removes_another_users_hook(
    api, alice, dave, httpserver, allow_private_targets
):
    mine = subscribe(api, alice, httpserver.url_for("/a"))
    theirs = subscribe(api, dave, httpserver.url_for("/d"))
    client = api.as_user(alice)

    assert client.delete(f"/api/v1/hooks/{mine['id']}/").status_code == 204
    assert client.delete(f"/api/v1/hooks/{mine['id']}/").status_code == 204
    assert client.delete(f"/api/v1/hooks/{theirs['id']}/").status_code == 204

    assert list(WebhookSubscription.objects.values_list("pk", flat=True)) == [theirs["id"]]


def test_me_answers_the_caller_for_the_zapier_auth_test(api, carol):
    body = api.as_user(carol).get("/api/v1/me/").json()

    assert body == {
        "id": carol.pk,
        "username": "carol",
        "name": "Carol Cho",
        "email": carol.email,
        "roles": ["manager"],
    }


def test_hooks_and_events_refuse_a_bad_key_and_a_user_without_role(api, nobody):
    assert api.get("/api/v1/hooks/", HTTP_AUTHORIZATION="Token nope").status_code == 401
    client = api.as_user(nobody)
    assert client.get("/api/v1/hooks/").status_code == 403
    assert client.get("/api/v1/events/").status_code == 403


# --- delivering ------------------------------------------------------------------------------


def test_a_move_is_delivered_signed_with_the_events_feed_shape(
    api, alice, opportunity, stages, httpserver, allow_private_targets, capture
):
    created = subscribe(api, alice, httpserver.url_for("/hook"))
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("thanks")

    move(opportunity, stages[1], alice, capture)

    httpserver.check_assertions()
    (request, _response) = httpserver.log[0]
    headers = {name.lower(): value for name, value in request.headers.items()}
    body = request.get_data(as_text=True)
    verified = Webhook(created["secret"]).verify(body, headers)
    delivery = WebhookDelivery.objects.get()
    assert headers["webhook-id"] == f"msg_{delivery.pk}"
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    message = OutboxMessage.objects.get(topic="opportunity.stage_changed")
    assert verified == json.loads(json.dumps(event_body(message)))
    assert verified["type"] == "opportunity.stage_changed"
    assert verified["data"]["to_stage_name"] == "Demo"
    assert verified["data"]["from_stage_name"] == "Discovery"
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        Status.SUCCEEDED,
        1,
        200,
    )
    assert delivery.response_excerpt == "thanks"
    feed = api.get("/api/v1/events/?type=opportunity.stage_changed").json()["results"]
    assert feed[0] == verified


def test_failures_are_retried_with_the_same_webhook_id_until_one_succeeds(
    api, alice, opportunity, stages, httpserver, allow_private_targets, capture
):
    subscribe(api, alice, httpserver.url_for("/hook"))
    httpserver.expect_ordered_request("/hook").respond_with_data("busy", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok", status=200)

    before = timezone.now()
    move(opportunity, stages[1], alice, capture)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.PENDING
    assert delivery.last_error == "HTTP 500"
    # The first retry waits 5 s, jittered by 20 %.
    wait = delivery.next_attempt_at - before
    assert timedelta(seconds=3.9) <= wait <= timedelta(seconds=7)
    # Not due yet: a second worker picking it up now does nothing.
    assert services.webhook_deliver(delivery_id=delivery.pk) is None
    for _ in range(2):
        make_due(delivery.pk)
        services.webhook_deliver(delivery_id=delivery.pk)

    httpserver.check_assertions()
    ids = {request.headers["webhook-id"] for request, _ in httpserver.log}
    assert ids == {f"msg_{delivery.pk}"}
    assert len(httpserver.log) == 3
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        Status.SUCCEEDED,
        3,
        200,
    )
    # Nothing is due any more: a sweep queues nothing.
    assert services.due_delivery_ids() == []


def test_429_honours_retry_after(
    api, alice, opportunity, stages, httpserver, allow_private_targets, capture
):
    subscribe(api, alice, httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "120"})
    )

    before = timezone.now()
    move(opportunity, stages[1], alice, capture)

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.PENDING
    assert delivery.response_status == 429
    assert delivery.next_attempt_at - before >= timedelta(seconds=120)


def test_410_deactivates_the_subscription_and_later_events_go_nowhere(
    api, alice, opportunity, stages, httpserver, allow_private_targets, capture
):
    created = subscribe(api, alice, httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_data("gone", status=410)

    move(opportunity, stages[1], alice, capture)
    move(opportunity, stages[2], alice, capture)

    assert len(httpserver.log) == 1
    subscription = WebhookSubscription.objects.get(pk=created["id"])
    assert subscription.status == WebhookSubscription.Status.GONE
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.FAILED
    assert "410" in delivery.last_error


def test_another_4xx_fails_without_retry(
    api, alice, opportunity, stages, httpserver, allow_private_targets, capture
):
    subscribe(api, alice, httpserver.url_for("/hook"))
    httpserver.expect_request("/hook").respond_with_data("bad", status=400)

    move(opportunity, stages[1], alice, capture)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.next_attempt_at, delivery.response_status) == (
        Status.FAILED,
        None,
        400,
    )
    assert services.due_delivery_ids() == []


def test_an_unreachable_receiver_is_retried_then_given_up(
    api, alice, opportunity, stages, allow_private_targets, capture, settings
):
    settings.EPOS_WEBHOOK_RETRY_SCHEDULE = [1, 1]
    # Port 9 (discard) has no listener here: the connection is refused.
    subscribe(api, alice, "http://127.0.0.1:9/hook")

    move(opportunity, stages[1], alice, capture)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.PENDING
    assert "Connect" in delivery.last_error or "refused" in delivery.last_error.lower()
    for _ in range(2):
        make_due(delivery.pk)
        services.webhook_deliver(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == Status.FAILED
    assert delivery.attempts == 3
    assert "given up after 3 attempts" in delivery.last_error


def test_a_target_that_turned_private_is_refused_at_delivery_time(
    api, alice, opportunity, stages, httpserver, settings, capture
):
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True
    subscribe(api, alice, httpserver.url_for("/hook"))
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = False

    move(opportunity, stages[1], alice, capture)

    assert httpserver.log == []
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.FAILED
    assert "loopback" in delivery.last_error


def test_a_subscriber_hears_only_of_deals_they_may_see(
    api, alice, dave, opportunity, stages, httpserver, allow_private_targets, capture
):
    subscribe(api, dave, httpserver.url_for("/dave"))

    move(opportunity, stages[1], alice, capture)

    assert httpserver.log == []
    # Not even a skipped delivery: dave's page must not tell him that a deal moved.
    assert WebhookDelivery.objects.count() == 0
    assert api.as_user(dave).get("/api/v1/events/").json()["results"] == []
    alice_feed = api.as_user(alice).get("/api/v1/events/").json()["results"]
    assert {event["type"] for event in alice_feed} == {"opportunity.stage_changed"}


def test_a_paused_subscription_gets_no_deliveries_and_resumes(
    api, alice, opportunity, stages, httpserver, allow_private_targets, capture
):
    created = subscribe(api, alice, httpserver.url_for("/hook"))
    subscription = WebhookSubscription.objects.get(pk=created["id"])
    httpserver.expect_request("/hook").respond_with_data("ok")

    services.webhook_set_paused(actor=alice, subscription=subscription, paused=True)
    move(opportunity, stages[1], alice, capture)
    assert WebhookDelivery.objects.count() == 0

    services.webhook_set_paused(actor=alice, subscription=subscription, paused=False)
    move(opportunity, stages[2], alice, capture)
    assert WebhookDelivery.objects.get().status == Status.SUCCEEDED
    assert len(httpserver.log) == 1


def test_a_failed_delivery_can_be_resent(
    api, alice, opportunity, stages, httpserver, allow_private_targets, capture
):
    subscribe(api, alice, httpserver.url_for("/hook"))
    httpserver.expect_ordered_request("/hook").respond_with_data("no", status=404)
    httpserver.expect_ordered_request("/hook").respond_with_data("yes", status=200)
    move(opportunity, stages[1], alice, capture)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == Status.FAILED

    with capture(execute=True):
        services.webhook_resend(actor=alice, delivery=delivery)

    delivery.refresh_from_db()
    assert delivery.status == Status.SUCCEEDED
    assert len({request.headers["webhook-id"] for request, _ in httpserver.log}) == 1


def test_dispatching_a_message_twice_makes_one_delivery_per_subscription(
    api, alice, bob, opportunity, stages, httpserver, allow_private_targets
):
    subscribe(api, alice, httpserver.url_for("/a"))
    subscribe(api, bob, httpserver.url_for("/b"))
    opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[1], actor=None, override_reason="test"
    )
    message = OutboxMessage.objects.get(topic="opportunity.stage_changed")

    services.fan_out(message)
    services.fan_out(message)
    outbox_dispatch(message_id=message.pk)

    assert WebhookDelivery.objects.filter(message=message).count() == 2


# --- the events feed ---------------------------------------------------------------------------


def test_events_feed_is_newest_first_filtered_by_type_and_leaves_out_replayed_history(
    api, alice, opportunity, stages, capture
):
    with outbox_quiet():
        factories.OpportunityFactory(name="Replayed", owner=alice, team=opportunity.team)
    move(opportunity, stages[1], alice, capture)
    move(opportunity, stages[2], alice, capture)
    client = api.as_user(alice)

    changed = client.get("/api/v1/events/?type=opportunity.stage_changed").json()
    everything = client.get("/api/v1/events/").json()["results"]
    refused = client.get("/api/v1/events/?type=deal.won")

    assert [event["data"]["to_stage_name"] for event in changed["results"]] == ["Proposal", "Demo"]
    assert changed["count"] == 2
    ids = [event["id"] for event in everything]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids))
    assert "Replayed" not in json.dumps(everything)
    assert refused.status_code == 400
    assert "Unknown event type" in refused.json()["type"][0]


def test_events_feed_query_count_does_not_grow_with_events(
    api, alice, opportunity, stages, capture, django_assert_num_queries
):
    client = api.as_user(alice)
    move(opportunity, stages[1], alice, capture)
    client.get("/api/v1/events/")  # the key's last-used stamp is written once
    with django_assert_num_queries(5):
        assert len(client.get("/api/v1/events/").json()["results"]) == 1
    move(opportunity, stages[2], alice, capture)
    move(opportunity, stages[0], alice, capture)
    with django_assert_num_queries(5):
        assert len(client.get("/api/v1/events/").json()["results"]) == 3


def test_users_lists_active_people_by_name_for_pickers(
    api, alice, bob, carol, nobody, django_assert_num_queries
):
    nobody.is_active = False
    nobody.save()
    client = api.as_user(alice)
    client.get("/api/v1/users/")

    # the key, the caller's roles, the count, the page
    with django_assert_num_queries(4):
        body = client.get("/api/v1/users/?page_size=100").json()

    assert body["results"] == [
        {"id": alice.pk, "username": "alice", "name": "Alice Archer"},
        {"id": bob.pk, "username": "bob", "name": "Bob Baker"},
        {"id": carol.pk, "username": "carol", "name": "Carol Cho"},
    ]
    assert api.as_user(nobody).get("/api/v1/users/").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_move_is_delivered_from_a_background_thread(
    alice, opportunity, stages, httpserver, settings
):
    """The embedded default (`make run`): no worker, yet webhooks go out, off the request."""
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True
    settings.EPOS_TASKS_IN_BACKGROUND_THREAD = True
    services.webhook_subscribe(
        actor=alice, target_url=httpserver.url_for("/hook"), event="opportunity.stage_changed"
    )
    arrived = threading.Event()

    def answer(request):
        arrived.set()
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(answer)

    opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[1], actor=None, override_reason="test"
    )

    assert arrived.wait(timeout=10)
    deadline = time.monotonic() + 10
    while WebhookDelivery.objects.get().status != Status.SUCCEEDED:
        assert time.monotonic() < deadline, "the delivery was not recorded as delivered"
        time.sleep(0.05)
    assert OutboxMessage.objects.get(topic="opportunity.stage_changed").dispatched_at is not None
