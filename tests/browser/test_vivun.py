"""Vivun in Chromium: an admin adds a "Vivun on Salesforce" connection with its secrets, tests it
and syncs it now; the deal page then shows the synced activity and deliverable with links back
to Vivun's records, and the stage item the deliverable proves done."""

import pytest

from epos.models import ExternalRef
from integrations.models import Connection, SyncRun
from opportunities.models import ChecklistCompletion
from tests import factories
from tests.browser.conftest import login, screenshot
from tests.integrations.conftest import salesforce, tls  # noqa: F401 - the fake org's fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}
SF_ID = "0065g00000AbCdEAAV"
ACTIVITY, DELIVERABLE = "vh__Activity__c", "vh__Deliverable__c"


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def org(salesforce):  # noqa: F811 - the imported fixture
    salesforce.add_object(
        ACTIVITY,
        {"vh__Opportunity__c", "vh__Type__c", "vh__Date__c", "vh__Hours__c", "vh__Subject__c"}
        | {"vh__Notes__c"},
    )
    salesforce.add_object(
        "vh__Product_Gap__c",
        {"vh__Opportunity__c", "vh__Description__c", "vh__Impact__c", "vh__Status__c"},
    )
    salesforce.add_object(
        DELIVERABLE,
        {"vh__Opportunity__c", "vh__Type__c", "vh__Status__c", "vh__Completed_Date__c"},
    )
    salesforce.add(
        ACTIVITY,
        Id="a0B000000000000001",
        vh__Opportunity__c=SF_ID,
        vh__Type__c="Custom Demo",
        vh__Date__c="2026-03-04T15:00:00.000+0000",
        vh__Hours__c=1.5,
        vh__Subject__c="Platform demo for the SRE team",
        vh__Notes__c="They want SLO burn-rate alerts next.",
        Owner={"Email": "alice@example.com"},
    )
    salesforce.add(
        DELIVERABLE,
        Id="a0D000000000000001",
        Name="Acme POC report",
        vh__Opportunity__c=SF_ID,
        vh__Type__c="POC Report",
        vh__Status__c="Completed",
        vh__Completed_Date__c="2026-03-06T10:00:00.000+0000",
        Owner={"Email": "alice@example.com"},
    )
    return salesforce


def test_an_admin_connects_vivun_on_salesforce_and_the_deal_page_links_back(
    page, root, alice, org, stages, team
):
    deal = factories.OpportunityFactory(
        name="Acme observability", stage=stages[0], owner=alice, team=team
    )
    ExternalRef.objects.create(
        system="salesforce", kind="opportunity", external_id=SF_ID, target=deal
    )
    item = factories.StageItemFactory(
        stage=stages[0],
        kind="deliverable",
        title="POC report shared with the customer",
        required=False,
        evidence_event="deliverable.synced",
        evidence_condition={"type": "POC Report"},
    )
    login(page, "root")
    page.goto("/integrations/")

    form = page.locator("#add-vivun_salesforce")
    form.locator("summary").click()
    form.locator("[name=name]").fill("Vivun on Salesforce")
    form.locator("[name=login_url]").fill(org.login_url)
    form.locator("[name=client_id]").fill("app-id")
    form.locator("[name=client_secret]").fill("app-secret")
    form.get_by_role("button", name="Add connection").click()
    page.wait_for_selector(".flash-success")
    assert "Added the connection Vivun on Salesforce." in page.inner_text("#flash")
    assert "app-secret" not in page.content()

    row = page.locator(f"#connection-{Connection.objects.get().pk}")
    row.get_by_role("button", name="Test connection").click()
    page.wait_for_selector(".flash-success")
    assert f"Found {ACTIVITY}, vh__Product_Gap__c, {DELIVERABLE}" in page.inner_text("#flash")
    row = page.locator(f"#connection-{Connection.objects.get().pk}")
    row.get_by_role("button", name="Sync now").click()
    page.wait_for_selector(".flash-success")
    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert "2 created, 0 updated, 0 unchanged, 0 failed" in page.inner_text(f"#run-{run.pk}")
    page.locator("#add-vivun_salesforce summary").click()
    screenshot(page, "vivun-integrations")
    page.set_viewport_size(PHONE)
    screenshot(page, "vivun-integrations-390")
    assert no_sideways_scroll(page)
    page.set_viewport_size(DESKTOP)

    page.context.clear_cookies()
    login(page, "alice")
    page.goto(f"/opportunities/{deal.pk}/#timeline")
    timeline = page.locator("#deal-timeline")
    assert timeline.is_visible()
    activity = timeline.locator(".kind-activity").first
    assert "Custom Demo" not in activity.inner_text()  # mapped: Vivun's "Custom Demo" is a demo
    assert "Demo · 90 min" in activity.inner_text()
    assert "Alice Archer via Vivun" in activity.inner_text()
    link = activity.get_by_role("link", name="open in Vivun")
    assert link.get_attribute("href") == (
        f"{org.login_url}/lightning/r/{ACTIVITY}/a0B000000000000001/view"
    )
    deliverable = timeline.locator(".kind-deliverable").first
    assert "Deliverable: Acme POC report" in deliverable.inner_text()
    assert deliverable.get_by_role("link", name="open in Vivun").get_attribute("href") == (
        f"{org.login_url}/lightning/r/{DELIVERABLE}/a0D000000000000001/view"
    )
    completion = ChecklistCompletion.objects.get(opportunity=deal, item=item)
    assert completion.done and completion.evidence_url.endswith("a0D000000000000001/view")
    screenshot(page, "vivun-deal")
    page.set_viewport_size(PHONE)
    screenshot(page, "vivun-deal-390")
    assert no_sideways_scroll(page)
