"""A pilot's page in real Chromium: the verdict, the per-arm chart and the roll-out."""

from datetime import date, timedelta

import pytest

from metrics import services
from stages.models import Process
from tests import factories
from tests.browser.conftest import login, screenshot
from tests.metrics.conftest import Walker, day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pilot(alice, bob, carol, team):
    baseline, baseline_stages = factories.make_process(
        ("Discovery", "Demo"), slug="presales", version=1, name="Pre-sales"
    )
    trial, trial_stages = factories.make_process(
        ("Discovery", "Demo"), slug="presales", version=2, name="Pre-sales"
    )
    # Pilot arm: alice's deals on v2, won after 10, 12 and 14 days; control: bob's on v1,
    # won after 20, 24 and 30 days, one lost.
    for index, days in enumerate((10, 12, 14)):
        deal = factories.OpportunityFactory(
            name=f"pilot {index}",
            stage=trial_stages[0],
            owner=alice,
            team=team,
            created_at=day(index),
        )
        Walker(deal, carol).to(trial_stages[2], day(index + days), override=True)
    for index, days in enumerate((20, 24, 30)):
        deal = factories.OpportunityFactory(
            name=f"control {index}",
            stage=baseline_stages[0],
            owner=bob,
            team=team,
            created_at=day(index),
        )
        Walker(deal, carol).to(baseline_stages[2], day(index + days), override=True)
    lost = factories.OpportunityFactory(
        name="control lost", stage=baseline_stages[0], owner=bob, team=team, created_at=day(5)
    )
    Walker(lost, carol).to(baseline_stages[3], day(9), loss_reason="Price")
    return services.pilot_create(
        actor=carol,
        name="One-call discovery",
        hypothesis="A single discovery call is enough for observability deals.",
        process=trial,
        baseline_process=baseline,
        members=[alice],
        starts_on=date(2025, 1, 1),
        ends_on=date(2025, 1, 1) + timedelta(days=90),
    )


def test_pilot_page_shows_the_verdict_and_the_arms(page, pilot, carol):
    login(page, "carol")
    page.goto(f"/pilots/{pilot.pk}/")
    page.wait_for_function("window.eposCharts && window.eposCharts['chart-pilot_mttc']")

    verdict = page.inner_text("#verdict")
    assert verdict.startswith("Not enough closed deals yet: about")
    assert "more needed for 80 % power to detect the target (MTTC -20 %)" in verdict
    arms = [row.lower().split("\t") for row in page.locator("#arms tbody tr").all_inner_texts()]
    assert arms[0][:3] == ["pilot arm", "3", "3"]
    assert arms[1][:4] == ["control arm", "4", "3", "1"]
    means = page.evaluate("window.eposCharts['chart-pilot_mttc'].data.datasets[0].data")
    assert means == [12, pytest.approx(74 / 3)]
    screenshot(page, "pilot-verdict")


def test_manager_rolls_the_pilot_out_from_its_page(page, pilot, carol):
    login(page, "carol")
    page.goto(f"/pilots/{pilot.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#roll-out button[type=submit]")

    assert "is now the active version" in page.inner_text("#flash")
    assert page.locator("#roll-out").count() == 0
    pilot.process.refresh_from_db()
    pilot.baseline_process.refresh_from_db()
    assert pilot.process.status == Process.Status.ACTIVE
    assert pilot.baseline_process.status == Process.Status.RETIRED
    screenshot(page, "pilot-rolled-out")
