"""The ESAT survey end to end: sent from the opportunity page, answered on the public page
without login, and refused the second time."""

import re

import pytest

from opportunities.models import EsatInvitation, EsatResponse
from tests import factories
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_survey_is_sent_answered_without_login_and_only_once(
    page, browser, live_server, alice, team, stages
):
    deal = factories.OpportunityFactory(name="Globex SIEM", stage=stages[1], owner=alice, team=team)
    factories.ContactFactory(account=deal.account, name="Hank Scorpio", email="hank@globex.example")
    login(page, "alice")
    page.goto(f"/opportunities/{deal.pk}/")
    page.get_by_role("tab", name="Timeline").click()
    page.select_option("#esat select[name=contact]", label="Hank Scorpio <hank@globex.example>")
    with page.expect_response(lambda r: "/esat/" in r.url):
        page.click("#esat button[type=submit]")
    link_box = page.locator('#esat input[aria-label="Survey link"]')
    link_box.wait_for()
    link = link_box.input_value()
    assert re.match(rf"{re.escape(live_server.url)}/survey/[^/]+/$", link)
    assert EsatInvitation.objects.get().email == "hank@globex.example"
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header would land mid-picture
    screenshot(page, "esat-sent")

    # The customer has no EPOS account: a fresh browser context, no cookies.
    for width, name in ((1280, "esat-survey-desktop"), (390, "esat-survey-narrow")):
        context = browser.new_context(viewport={"width": width, "height": 844})
        customer = context.new_page()
        customer.goto(link)
        words = customer.inner_text("main")
        assert "with our demo on Globex SIEM" in words
        screenshot(customer, name)
        context.close()

    context = browser.new_context(viewport={"width": 390, "height": 844})
    customer = context.new_page()
    customer.goto(link)
    customer.locator(".scale-option", has_text="5").click()
    customer.fill("textarea[name=comment]", "Clear demo, good follow-up")
    customer.click("button[type=submit]")
    assert "Thank you" in customer.inner_text("h1")
    answer = EsatResponse.objects.get()
    assert (answer.score, answer.comment, answer.source, answer.stage_id) == (
        5,
        "Clear demo, good follow-up",
        "survey",
        stages[1].pk,
    )
    customer.goto(link)
    assert "Already answered" in customer.inner_text("h1")
    screenshot(customer, "esat-used")
    context.close()
    assert EsatResponse.objects.count() == 1

    page.reload()
    assert "5/5" in page.inner_text("#esat")
    assert "Clear demo, good follow-up" in page.inner_text("#esat")


def test_a_tampered_link_gets_a_clear_page(page, live_server, alice, team, stages):
    page.goto(f"{live_server.url}/survey/not-a-real-token/")
    assert "This link does not work" in page.inner_text("h1")
    assert "Nothing was recorded." in page.inner_text("main")
    assert not EsatResponse.objects.exists()


def test_sending_the_survey_ticks_the_item_it_proves(page, live_server, alice, team, stages):
    item = factories.StageItemFactory(
        stage=stages[1], title="Send the ESAT survey after the demo", evidence_event="esat.sent"
    )
    deal = factories.OpportunityFactory(name="Initech APM", stage=stages[1], owner=alice, team=team)
    factories.ContactFactory(
        account=deal.account, name="Bill Lumbergh", email="bill@initech.example"
    )
    login(page, "alice")
    page.goto(f"/opportunities/{deal.pk}/")
    checkbox = page.locator(f"#check-item-{item.pk} input[name=done]")
    assert not checkbox.is_checked()
    page.get_by_role("tab", name="Timeline").click()
    page.select_option("#esat select[name=contact]", label="Bill Lumbergh <bill@initech.example>")
    with page.expect_response(lambda r: "/esat/" in r.url):
        page.click("#esat button[type=submit]")
    page.locator('#esat input[aria-label="Survey link"]').wait_for()
    # No reload: the checklist refreshes itself after evidence was recorded.
    page.get_by_role("tab", name="Guide").click()
    page.locator(f"#check-item-{item.pk}.is-done").wait_for()
    assert checkbox.is_checked()
    assert "Completed automatically by the ESAT survey sent" in page.inner_text(
        f"#check-item-{item.pk}"
    )
