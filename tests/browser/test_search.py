"""The top bar's search in real Chromium: suggestions as you type, the keyboard (Down, Enter,
Escape, "/" and Ctrl+K), the results page behind Enter, and the folded field on a phone."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from tests import factories
from tests.browser.conftest import login, screenshot
from tests.building_blocks.helpers import make_block

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIELD = "#topsearch-input"
OPTIONS = "#topsearch-listbox [role=option]"


@pytest.fixture
def searchable(alice, dave, erin, root, team, other_team, stages):
    account = factories.AccountFactory(name="Orion Industries")
    factories.ContactFactory(account=account, name="Olga Orionova", title="CTO")
    newest = factories.OpportunityFactory(
        name="Orion observability", stage=stages[1], owner=alice, team=team, account=account
    )
    factories.OpportunityFactory(
        name="Orion renewal",
        stage=stages[0],
        owner=alice,
        team=team,
        created_at=timezone.now() - timedelta(days=1),
    )
    hidden = factories.OpportunityFactory(
        name="Orion secret", stage=stages[0], owner=dave, team=other_team
    )
    make_block(erin, publish_by=root, title="Orion demo script")
    return {"newest": newest, "hidden": hidden}


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_typing_suggests_and_the_keyboard_opens_a_deal(page, alice, searchable):
    login(page, "alice")
    field = page.locator(FIELD)
    field.click()
    field.press_sequentially("orion", delay=30)
    page.wait_for_selector(OPTIONS)

    assert field.get_attribute("aria-expanded") == "true"
    groups = page.locator("#topsearch-listbox .sg-head").all_inner_texts()
    assert [group.strip().lower() for group in groups] == [
        "deals",
        "accounts",
        "contacts",
        "building blocks",
    ]
    panel = page.inner_text("#topsearch-panel")
    assert "Orion observability" in panel and "Orion secret" not in panel  # dave's team's
    screenshot(page, "search-suggestions-desktop")

    field.press("ArrowDown")
    first = page.locator(OPTIONS).first
    assert first.get_attribute("aria-selected") == "true"
    assert field.get_attribute("aria-activedescendant") == first.get_attribute("id")
    field.press("ArrowDown")
    screenshot(page, "search-keyboard-desktop")
    field.press("ArrowUp")
    assert first.get_attribute("aria-selected") == "true"
    # Deals come newest first: the first option is the newest Orion deal.
    assert first.get_attribute("href") == f"/opportunities/{searchable['newest'].pk}/"

    with page.expect_navigation():
        field.press("Enter")
    assert page.url.endswith(f"/opportunities/{searchable['newest'].pk}/")
    assert "Orion observability" in page.inner_text("h1")


def test_escape_closes_and_hotkeys_focus_the_field(page, alice, searchable):
    login(page, "alice")
    page.locator("h1").first.click()  # focus on the page, not a field
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "topsearch-input"

    page.keyboard.type("orion", delay=30)
    page.wait_for_selector(OPTIONS)
    page.keyboard.press("Escape")
    assert page.locator("#topsearch-panel").is_hidden()
    assert page.locator(FIELD).get_attribute("aria-expanded") == "false"

    page.locator("h1").first.click()
    page.keyboard.press("Control+k")
    assert page.evaluate("document.activeElement.id") == "topsearch-input"
    # Back in the field, the list comes back; Down reopens it after Escape too.
    assert page.locator("#topsearch-panel").is_visible()


def test_enter_without_a_choice_opens_the_results_page(page, alice, searchable):
    login(page, "alice")
    field = page.locator(FIELD)
    field.fill("orion")
    with page.expect_navigation():
        field.press("Enter")

    assert re.search(r"/search/\?q=orion$", page.url)
    assert page.locator("[data-testid=search-count]").inner_text().startswith("5 results")
    assert page.locator(".search-group").count() == 4
    assert "Orion secret" not in page.inner_text("main")
    assert no_sideways_scroll(page)
    screenshot(page, "search-page-desktop")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert no_sideways_scroll(page)
    screenshot(page, "search-page-narrow")


@pytest.mark.parametrize(("width", "height", "name"), [(390, 844, "narrow"), (1024, 768, "medium")])
def test_narrow_screens_open_the_field_from_the_icon(page, alice, searchable, width, height, name):
    page.set_viewport_size({"width": width, "height": height})
    login(page, "alice")
    field = page.locator(FIELD)
    assert field.is_hidden()
    screenshot(page, f"search-closed-{name}")

    page.click("[data-topsearch-toggle]")
    assert field.is_visible()
    assert page.evaluate("document.activeElement.id") == "topsearch-input"
    field.press_sequentially("orion", delay=30)
    page.wait_for_selector(OPTIONS)
    assert no_sideways_scroll(page)
    box = page.locator("#topsearch-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    screenshot(page, f"search-suggestions-{name}")

    with page.expect_navigation():
        page.locator(f"{OPTIONS}[data-group=accounts]").first.click()
    assert "/accounts/" in page.url
