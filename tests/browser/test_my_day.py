"""My day in real Chromium: loaded after the board, one line that opens, remembered open."""

from datetime import timedelta

import pytest
from django.utils import timezone

from opportunities.models import Activity
from tests import factories
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alices_day(alice, team, stages):
    now = timezone.now()
    late = factories.OpportunityFactory(
        name="Acme log retention – late in discovery",
        owner=alice,
        team=team,
        stage=stages[0],
        created_at=now - timedelta(days=30),
    )
    factories.OpportunityFactory(
        name="Globex tracing", owner=alice, team=team, stage=stages[1], created_at=now
    )
    Activity.objects.create(
        opportunity=late,
        kind=Activity.Kind.DEMO,
        occurred_at=now + timedelta(days=1, hours=2),
        duration_minutes=90,
        summary="Demo on their own logs",
    )
    return late


def test_my_day_loads_after_the_board_opens_and_stays_open(page, alice, alices_day):
    login(page, "alice")
    summary = page.locator("#my-day .myday-summary")
    page.wait_for_selector("#my-day:not(.is-loading)")
    assert page.locator(".board").count() == 1
    text = summary.inner_text()
    assert "1 past target" in text and "4 items open" in text and "next " in text
    assert not page.locator("#my-day").evaluate("el => el.open")
    screenshot(page, "my-day-closed-1440")

    summary.click()
    body = page.locator("#my-day .myday-body")
    assert body.is_visible()
    assert "Acme log retention – late in discovery" in body.inner_text()
    assert "Demo on their own logs" in body.inner_text()
    screenshot(page, "my-day-open-1440")

    page.reload()
    page.wait_for_selector("#my-day:not(.is-loading)")
    assert page.locator("#my-day").evaluate("el => el.open")  # remembered
    page.set_viewport_size({"width": 390, "height": 844})
    scroll = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll[0] <= scroll[1]
    screenshot(page, "my-day-open-390")

    summary.click()
    page.reload()
    page.wait_for_selector("#my-day:not(.is-loading)")
    assert not page.locator("#my-day").evaluate("el => el.open")


def test_the_placeholder_keeps_its_height_so_the_board_does_not_move(page, alice, alices_day):
    login(page, "alice")
    page.wait_for_selector("#my-day:not(.is-loading)")
    loaded = page.locator("#my-day").bounding_box()["height"]
    page.route("**/my-day/", lambda route: None)  # never answers: the placeholder stays
    page.reload()
    page.wait_for_selector("#my-day.is-loading")
    waiting = page.locator("#my-day").bounding_box()["height"]
    assert waiting == pytest.approx(loaded, abs=1)
