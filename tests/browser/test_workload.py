"""The workload page in real Chromium: a manager reads the SAs' load, drills down from a bar and
from a number to the deals behind it, sets a capacity inline, and the page fits a phone."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from opportunities.models import Activity, ProductGap
from tests import factories
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TARGET_DAYS = 14


@pytest.fixture
def loads(team, alice, bob, carol, dave, other_team):
    """Three SAs of carol's team with deals in every stage and hours in the last 30 days, and
    dave in another team. Returns what the page should show, worked out here."""
    now = timezone.now()
    cleo = factories.UserFactory(username="cleo", first_name="Cleo", last_name="Chen", role="sa")
    team.members.add(cleo)
    _, stages = factories.make_process(("Discovery", "Demo", "Proposal"))
    # (owner, stage index, days in stage, amount, [(minutes, days ago)...])
    plan = [
        (alice, 0, 20, 40_000, [(240, 2), (180, 6), (300, 9), (240, 15), (360, 19), (420, 23)]),
        (alice, 0, 4, 15_000, [(120, 1), (90, 12)]),
        (alice, 1, 9, 60_000, [(480, day) for day in (3, 4, 5, 8, 11, 15, 18, 22, 25)]),
        (alice, 2, 30, None, [(240, 5), (300, 26), (480, 27)]),
        (bob, 1, 2, 25_000, [(720, day) for day in (1, 2, 3, 5, 6, 8, 9, 12, 13)]),
        (bob, 2, 16, 80_000, [(720, day) for day in (3, 10, 14, 17, 19, 21, 24, 28)]),
        (bob, 2, 1, 30_000, [(480, 11), (240, 40)]),
        (cleo, 0, 5, 10_000, []),
        (dave, 0, 50, 5_000, [(600, 3)]),
    ]
    deals = []
    for number, (owner, stage, days, amount, activities) in enumerate(plan):
        deal = factories.OpportunityFactory(
            name=f"{owner.first_name} deal {number}",
            owner=owner,
            team=other_team if owner == dave else team,
            stage=stages[stage],
            amount=None if amount is None else Decimal(amount),
            created_at=now - timedelta(days=days),
        )
        for minutes, ago in activities:
            Activity.objects.create(
                opportunity=deal,
                kind="meeting",
                occurred_at=now - timedelta(days=ago, hours=1),
                duration_minutes=minutes,
            )
        deals.append((deal, owner, days, activities))
    ProductGap.objects.create(opportunity=deals[2][0], title="SAML", severity="deal_breaker")
    ProductGap.objects.create(opportunity=deals[5][0], title="FedRAMP", severity="deal_breaker")
    ProductGap.objects.create(opportunity=deals[3][0], title="Export", severity="deal_challenge")
    ProductGap.objects.create(opportunity=deals[4][0], title="Dark mode", severity="nice_to_have")

    def hours_30(user):
        return sum(m for d, o, _, acts in deals if o == user for m, ago in acts if ago < 30) / 60

    def deals_with_hours(user):
        return sorted(
            d.name for d, o, _, acts in deals if o == user and any(a < 30 for _, a in acts)
        )

    def late(user):
        return sorted(d.name for d, o, days, _ in deals if o == user and days > TARGET_DAYS)

    return {"hours_30": hours_30, "with_hours": deals_with_hours, "late": late}


def utilisation_text(hours, weekly=40, window=30):
    return f"{hours / (weekly * window / 7) * 100:.0f} %"


def no_sideways_scroll(page):
    width, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"the page is {width}px wide in a {inner}px window"


def test_a_manager_reads_the_load_and_drills_down_to_the_deals(page, loads, alice, bob, carol):
    login(page, "carol")
    page.goto("/workload/")
    table = page.locator("#workload-table")
    table.wait_for()
    assert page.locator("#workload-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.sa)"
    ) == ["alice", "bob", "cleo"]
    assert page.locator('nav.topnav a[aria-current="page"]').inner_text() == "Workload"
    for user in (alice, bob):
        row = page.locator(f'#workload-table tr[data-sa="{user.username}"]')
        assert row.locator('[data-col="hours-30"]').inner_text() == f"{loads['hours_30'](user):.1f}"
        assert row.locator('[data-col="utilisation"]').inner_text() == utilisation_text(
            loads["hours_30"](user)
        )
    # bob is past his capacity: his bar is drawn in the "over" colour, longer than alice's.
    widths = {
        name: float(
            page.locator(f'#utilisation-chart a[data-sa="{name}"] rect.wl-fill').get_attribute(
                "width"
            )
        )
        for name in ("alice", "bob")
    }
    assert widths["bob"] > widths["alice"] > 0
    assert page.locator('#utilisation-chart a[data-sa="bob"] rect.wl-over').count() == 1
    screenshot(page, "workload-manager-1440x900")

    # A bar drills down to the deals behind the hours.
    page.click('#utilisation-chart a[data-sa="alice"]')
    page.locator("#workload-deals").wait_for()
    names = page.locator("#workload-deals tbody td:first-child a").all_inner_texts()
    assert sorted(names) == loads["with_hours"](alice)
    assert "hours logged in the last 30 days" in page.inner_text("h1")
    screenshot(page, "workload-drilldown-hours-1440x900")

    # A number drills down too: alice's deals past their stage's target.
    page.go_back()
    page.click('#workload-table tr[data-sa="alice"] [data-col="past-target"] a')
    page.locator("#workload-deals").wait_for()
    names = page.locator("#workload-deals tbody td:first-child a").all_inner_texts()
    assert sorted(names) == loads["late"](alice)

    # And a deal of the list opens its page.
    link = page.locator("#workload-deals tbody td:first-child a", has_text=names[0])
    href = link.get_attribute("href")
    assert href.startswith("/opportunities/")
    link.click()
    page.wait_for_url(f"**{href}")
    assert names[0] in page.title()


def test_a_manager_sets_a_capacity_inline_and_the_utilisation_follows(page, loads, alice):
    login(page, "carol")
    page.goto("/workload/")
    row = page.locator('#workload-table tr[data-sa="alice"]')
    field = row.locator('input[name="weekly_hours"]')
    assert field.input_value() == "40"
    field.fill("20")
    with page.expect_response(lambda r: "/workload/capacity/" in r.url) as answer:
        row.locator("button[type=submit]").click()
    assert answer.value.status == 200
    row = page.locator('#workload-table tr[data-sa="alice"]')
    expected = utilisation_text(loads["hours_30"](alice), weekly=20)
    page.wait_for_function(
        "([sel, text]) => document.querySelector(sel)?.innerText === text",
        arg=['#workload-table tr[data-sa="alice"] [data-col="utilisation"]', expected],
    )
    assert row.locator('input[name="weekly_hours"]').input_value() == "20"
    assert "20 hours a week" in page.locator("#toasts").inner_text()
    # The page's own address did not change: a reload shows the same.
    page.reload()
    assert (
        page.locator('#workload-table tr[data-sa="alice"] [data-col="utilisation"]').inner_text()
        == expected
    )


def test_the_page_and_its_drilldown_fit_a_phone(page, loads, alice):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "carol")
    page.goto("/workload/")
    page.locator("#workload-table").wait_for()
    no_sideways_scroll(page)
    screenshot(page, "workload-manager-390x844")
    page.click('#utilisation-chart a[data-sa="bob"]')
    page.locator("#workload-deals").wait_for()
    no_sideways_scroll(page)
    screenshot(page, "workload-drilldown-hours-390x844")
    page.goto("/workload/")
    page.click('#product-gaps a[data-severity="deal_breaker"]')
    page.locator("#workload-deals").wait_for()
    assert page.locator("#workload-deals tbody tr").count() == 2
    no_sideways_scroll(page)
    screenshot(page, "workload-drilldown-gaps-390x844")


RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline"));
});
"""


def test_the_page_works_under_the_content_security_policy(page_under_csp, loads, alice):
    """Inline SVG bars, no style attribute, no script of its own: nothing the policy refuses,
    and the inline capacity edit (htmx) still works under it."""
    page = page_under_csp
    page.add_init_script(RECORD_VIOLATIONS)
    login(page, "carol")
    page.goto("/workload/")
    page.locator("#workload-table").wait_for()
    row = page.locator('#workload-table tr[data-sa="alice"]')
    row.locator('input[name="weekly_hours"]').fill("30")
    with page.expect_response(lambda r: "/workload/capacity/" in r.url) as answer:
        row.locator("button[type=submit]").click()
    assert answer.value.status == 200
    page.locator("#toasts .toast").wait_for()
    assert page.evaluate("window.__cspViolations") == []
