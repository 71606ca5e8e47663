"""/integrations/: own subscriptions and deliveries (admins: everyone's), pause, resume, re-send."""

import pytest
from django.urls import reverse

from epos.outbox import outbox_publish
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks import services
from tests import factories

pytestmark = pytest.mark.django_db

HOME = "/integrations/"


@pytest.fixture
def subscriptions(alice, bob, settings):
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True
    mine, _ = services.webhook_subscribe(
        actor=alice, target_url="http://127.0.0.1:9/alice", event="opportunity.won"
    )
    theirs, _ = services.webhook_subscribe(
        actor=bob, target_url="http://127.0.0.1:9/bob", event="opportunity.won"
    )
    return mine, theirs


def deliveries_for(subscription, count, status=WebhookDelivery.Status.FAILED):
    deal = factories.OpportunityFactory(
        owner=subscription.user, team=subscription.user.teams.first()
    )
    for _ in range(count):
        message = outbox_publish(topic="opportunity.won", payload={"opportunity_id": deal.pk})
        WebhookDelivery.objects.create(
            subscription=subscription,
            message=message,
            status=status,
            attempts=1,
            response_status=404,
            last_error="HTTP 404: not retried.",
        )


def test_a_user_sees_their_own_webhooks_and_an_admin_everyones(client, alice, root, subscriptions):
    mine, theirs = subscriptions
    deliveries_for(mine, 1)
    deliveries_for(theirs, 1)

    client.force_login(alice)
    page = client.get(HOME).content.decode()
    assert "http://127.0.0.1:9/alice" in page
    assert "http://127.0.0.1:9/bob" not in page
    assert "HTTP 404: not retried." in page
    assert page.count('id="delivery-') == 1

    client.force_login(root)
    page = client.get(HOME).content.decode()
    assert "http://127.0.0.1:9/alice" in page
    assert "http://127.0.0.1:9/bob" in page
    assert page.count('id="delivery-') == 2


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(HOME)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_page_queries_do_not_grow_with_subscriptions_or_deliveries(
    client, alice, subscriptions, django_assert_num_queries, settings
):
    mine, _ = subscriptions
    deliveries_for(mine, 2)
    client.force_login(alice)
    client.get(HOME)
    # session, user, roles, subscriptions with their last delivery, the user's teams (what
    # they may see), deliveries of events they may see
    with django_assert_num_queries(6):
        assert client.get(HOME).status_code == 200
    for n in range(3):
        services.webhook_subscribe(
            actor=alice, target_url=f"http://127.0.0.1:9/more{n}", event="opportunity.lost"
        )
    deliveries_for(mine, 4)
    with django_assert_num_queries(6):
        page = client.get(HOME).content.decode()
    assert page.count('id="subscription-') == 4
    assert page.count('id="delivery-') == 6


def test_pause_and_resume_own_subscription(client, alice, subscriptions):
    mine, _ = subscriptions
    client.force_login(alice)

    client.post(reverse("integrations:subscription-pause", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.status == WebhookSubscription.Status.PAUSED
    client.post(reverse("integrations:subscription-resume", args=[mine.pk]))
    mine.refresh_from_db()
    assert mine.status == WebhookSubscription.Status.ACTIVE


def test_another_users_subscription_and_delivery_are_404_and_untouched(
    client, alice, subscriptions
):
    _, theirs = subscriptions
    deliveries_for(theirs, 1)
    delivery = WebhookDelivery.objects.get()
    client.force_login(alice)

    paused = client.post(reverse("integrations:subscription-pause", args=[theirs.pk]))
    resent = client.post(reverse("integrations:delivery-resend", args=[delivery.pk]))

    assert (paused.status_code, resent.status_code) == (404, 404)
    theirs.refresh_from_db()
    delivery.refresh_from_db()
    assert theirs.status == WebhookSubscription.Status.ACTIVE
    assert delivery.status == WebhookDelivery.Status.FAILED


def test_resend_requeues_a_failed_delivery_and_refuses_a_delivered_one(
    client, alice, subscriptions, django_capture_on_commit_callbacks
):
    mine, _ = subscriptions
    deliveries_for(mine, 1)
    deliveries_for(mine, 1, status=WebhookDelivery.Status.SUCCEEDED)
    failed, delivered = WebhookDelivery.objects.order_by("pk")
    client.force_login(alice)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("integrations:delivery-resend", args=[failed.pk]))
    refused = client.post(reverse("integrations:delivery-resend", args=[delivered.pk]), follow=True)

    assert response.status_code == 302
    assert len(callbacks) == 1
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (WebhookDelivery.Status.PENDING, 0)
    assert "Only a failed or skipped delivery can be re-sent." in refused.content.decode()
    delivered.refresh_from_db()
    assert delivered.status == WebhookDelivery.Status.SUCCEEDED


@pytest.mark.parametrize("name", ["subscription-pause", "subscription-resume", "delivery-resend"])
def test_actions_refuse_get(client, alice, subscriptions, name):
    client.force_login(alice)

    assert client.get(reverse(f"integrations:{name}", args=[1])).status_code == 405
