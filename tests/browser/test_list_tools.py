"""The opportunity list in real Chromium: a bulk move where one deal is refused and the report
names it, sorting by a column, saving a view and applying it, on a wide screen and a phone."""

from decimal import Decimal

import pytest

from opportunities.models import ChecklistCompletion, Opportunity, SavedView, StageTransition
from tests import factories
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def row_names(page) -> list[str]:
    return page.locator("#list-results tbody tr td:nth-child(2) > a").all_inner_texts()


@pytest.fixture
def deals(alice, team, stages):
    """Three of alice's deals in Discovery: two with their required items done, one not."""
    made = {}
    for name, amount, ready in (
        ("Acme observability", "40000", True),
        ("Globex logging", "15000", False),
        ("Initech SIEM", "90000", True),
    ):
        made[name] = factories.OpportunityFactory(
            name=name, stage=stages[0], owner=alice, team=team, amount=Decimal(amount)
        )
        if ready:
            for item in stages[0].items.all():
                ChecklistCompletion.objects.create(opportunity=made[name], item=item, done=True)
    return made


def test_a_bulk_move_reports_the_refused_deal_by_name(page, alice, deals, stages):
    login(page, "alice")
    page.goto("/opportunities/")
    move = page.get_by_role("button", name="Move", exact=True)
    assert move.is_disabled()  # nothing selected yet
    page.check("[data-select-all]")
    assert page.inner_text("[data-selected-count]") == "3 selected"
    assert move.is_enabled()
    page.select_option("#bulk-form select[name=stage]", label="Demo")
    screenshot(page, "list-tools-selected")
    with page.expect_response(lambda r: r.url.endswith("/opportunities/bulk/")) as answer:
        move.click()
    assert answer.value.status == 200
    report = page.locator("#bulk-report .bulk-report")
    report.wait_for()
    text = report.inner_text()
    assert "Moved 2 of 3 deals to Demo" in text
    assert "Globex logging: Required items are not done (Discovery: " in text
    assert report.get_by_role("link", name="Globex logging").get_attribute("href") == (
        f"/opportunities/{deals['Globex logging'].pk}/"
    )
    # The table reloads under the report: the moved deals show their new stage, nothing ticked.
    page.locator("#list-results tr", has_text="Acme observability").locator(
        "td.hide-narrow", has_text="Demo"
    ).wait_for()
    assert page.inner_text("[data-selected-count]") == "0 selected"
    assert move.is_disabled()
    screenshot(page, "list-tools-bulk-report")
    stages_now = dict(Opportunity.objects.values_list("name", "stage_id"))
    assert stages_now == {
        "Acme observability": stages[1].pk,
        "Globex logging": stages[0].pk,
        "Initech SIEM": stages[1].pk,
    }
    assert StageTransition.objects.filter(opportunity=deals["Globex logging"]).count() == 1

    page.set_viewport_size(PHONE)
    page.reload()
    # On a phone the actions show once a deal is ticked.
    assert not page.locator("#bulk-form select[name=stage]").is_visible()
    page.check("[data-select-all]")
    page.select_option("#bulk-form select[name=stage]", label="Lost")
    page.get_by_role("button", name="Move", exact=True).click()
    report.wait_for()
    assert "Moved 0 of 3 deals to Lost" in report.inner_text()
    assert report.inner_text().count("needs a loss reason") == 3
    assert no_sideways_scroll(page)
    screenshot(page, "list-tools-bulk-report-phone")


def test_a_column_header_sorts_the_list_both_ways(page, alice, deals):
    login(page, "alice")
    page.goto("/opportunities/")
    page.get_by_role("link", name="Amount").click()
    page.wait_for_url("**/opportunities/?*sort=amount*")
    assert row_names(page) == ["Globex logging", "Acme observability", "Initech SIEM"]
    header = page.locator("th[aria-sort]")
    assert header.get_attribute("aria-sort") == "ascending"
    page.get_by_role("link", name="Amount").click()
    page.wait_for_url("**sort=-amount*")
    assert row_names(page) == ["Initech SIEM", "Acme observability", "Globex logging"]
    assert header.get_attribute("aria-sort") == "descending"
    screenshot(page, "list-tools-sorted")
    # On a phone the headers of most columns are hidden: the sort menu, under "Filters and
    # sort" (folded away to leave the screen to the deals), does the same.
    page.set_viewport_size(PHONE)
    assert not page.locator("select[name=sort]").is_visible()
    page.get_by_text("Filters and sort").click()
    page.select_option("select[name=sort]", label="Name, A to Z")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**sort=name*")
    names = [
        n.strip()
        for n in page.locator("#list-results tbody tr td:nth-child(2) > a").all_inner_texts()
    ]
    assert names == sorted(names)
    assert no_sideways_scroll(page)
    screenshot(page, "list-tools-sorted-phone")


def test_saving_a_view_and_applying_it(page, alice, bob, team, stages, deals):
    factories.OpportunityFactory(
        name="Bob's security deal", stage=stages[0], owner=bob, team=team, use_case="security"
    )
    factories.OpportunityFactory(
        name="Umbrella security", stage=stages[0], owner=alice, team=team, use_case="security"
    )
    login(page, "alice")
    page.goto("/opportunities/")
    page.select_option("select[name=owner]", "me")
    page.select_option("select[name=use_case]", "security")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**use_case=security*")
    page.get_by_role("link", name="Opportunity", exact=True).click()  # sorted by name too
    page.wait_for_url("**sort=name*")
    page.locator(".save-view summary").click()
    page.fill("#saved-view-name", "My security deals")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state("networkidle")
    assert "Saved the view “My security deals”." in page.inner_text("#flash")
    view = SavedView.objects.get(user=alice)
    assert view.query == "owner=me&outcome=open&use_case=security&sort=name"

    page.goto("/opportunities/")  # back to the unfiltered list
    assert len(row_names(page)) == 5  # hers, and bob's: her team's deals
    page.get_by_role("link", name="My security deals").click()
    page.wait_for_url("**use_case=security*")
    assert row_names(page) == ["Umbrella security"]
    assert page.locator('.view-chip a[aria-current="true"]').inner_text() == "My security deals"
    screenshot(page, "list-tools-saved-view")
    page.set_viewport_size(PHONE)
    page.reload()
    assert no_sideways_scroll(page)
    screenshot(page, "list-tools-saved-view-phone")
