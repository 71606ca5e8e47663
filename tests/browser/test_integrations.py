"""/integrations/ in Chromium: a subscription with failed and delivered events, pause, re-send."""

import pytest

from epos.models import OutboxMessage
from epos.outbox import outbox_publish, outbox_quiet
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks import services
from tests import factories
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_pauses_a_subscription_and_resends_a_failed_delivery(page, alice, settings):
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True
    subscription, _ = services.webhook_subscribe(
        actor=alice,
        target_url="http://127.0.0.1:9/hooks.zapier.example/catch/123456/abcdef-very-long-path",
        event="opportunity.stage_changed",
    )
    deals = [factories.OpportunityFactory(owner=alice) for _ in range(3)]
    for deal, (status, code, error) in zip(
        deals,
        [
            ("succeeded", 200, ""),
            ("failed", 404, "HTTP 404: not retried."),
            ("pending", 503, "HTTP 503"),
        ],
        strict=True,
    ):
        with outbox_quiet():  # recorded, not dispatched: the deliveries are made here
            message = outbox_publish(
                topic="opportunity.stage_changed",
                payload={"opportunity_id": deal.pk, "name": deal.name},
            )
        OutboxMessage.objects.filter(pk=message.pk).update(attempts=1)  # as if dispatched
        WebhookDelivery.objects.create(
            subscription=subscription,
            message=message,
            status=status,
            attempts=1,
            response_status=code,
            response_excerpt='{"status": "ok"}' if code == 200 else "Not found",
            last_error=error,
        )
    failed = WebhookDelivery.objects.get(status="failed")
    login(page, "alice")

    page.locator("details.usermenu summary").click()
    page.get_by_role("link", name="Integrations").click()
    page.wait_for_url("**/integrations/")
    rows = page.locator("#deliveries tbody tr")
    assert rows.count() == 3
    assert "HTTP 404: not retried." in page.inner_text(f"#delivery-{failed.pk}")
    screenshot(page, "integrations")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "integrations-narrow")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1440, "height": 900})

    page.locator(f"#subscription-{subscription.pk}").get_by_role("button", name="Pause").click()
    page.wait_for_selector(".flash-success")
    assert "Paused" in page.inner_text("#flash")
    assert "Paused" in page.inner_text(f"#subscription-{subscription.pk}")
    subscription.refresh_from_db()
    assert subscription.status == WebhookSubscription.Status.PAUSED

    page.locator(f"#delivery-{failed.pk}").get_by_role("button", name="Re-send").click()
    page.wait_for_selector(".flash-success")
    assert "Re-sending" in page.inner_text("#flash")
    failed.refresh_from_db()
    # The subscription is paused, so the re-sent attempt is skipped, and says why.
    assert failed.status == WebhookDelivery.Status.SKIPPED
    assert "paused" in page.inner_text(f"#delivery-{failed.pk}").lower()
