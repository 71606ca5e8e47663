"""The building-block repository in real Chromium: search and filter, the two-curator publish
flow, and using a block (and recording discovery) on a deal's page."""

import pytest

from building_blocks import services
from building_blocks.models import BlockUsage, BuildingBlock, DiscoveryLink
from tests import factories
from tests.browser.conftest import SCREENSHOTS, login, screenshot
from tests.building_blocks.helpers import EXE, PDF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def frank(db):
    return factories.UserFactory(
        username="frank", first_name="Frank", last_name="Fox", role="curator"
    )


def publish(author, reviewer, **fields):
    fields.setdefault("body", "Some **content**.")
    block = services.block_create(actor=author, **fields)
    services.block_submit(block=block, actor=author)
    return services.block_approve(block=block, actor=reviewer)


@pytest.fixture
def library(erin, frank, stages):
    publish(erin, frank, title="Tracing demo script", kind="demo_script",
            summary="From alert to root cause in five minutes.", stages=["demo"],
            use_cases=["observability"], products=["Kestrel APM"])  # fmt: skip
    publish(erin, frank, title="Observability discovery guide", kind="discovery_guide",
            summary="Questions about outages, tools and distributed tracing.",
            stages=["discovery"], use_cases=["observability"])  # fmt: skip
    publish(erin, frank, title="SIEM sizing sheet", kind="sizing_sheet",
            summary="Events per second to cluster size.", use_cases=["security"])  # fmt: skip
    publish(erin, frank, title="Case study: tracing at a bank", kind="case_study",
            summary="MTTR halved with tracing.", industries=["Banking"],
            use_cases=["observability"])  # fmt: skip
    services.block_create(actor=erin, title="Tracing pricing draft", kind="other",
                          body="Not for SAs yet")  # fmt: skip


def test_search_and_filter_the_library(page, alice, library):
    login(page, "alice")
    page.goto("/blocks/")
    assert page.get_by_test_id("result-count").inner_text() == "4 blocks"
    page.fill("main input[name=q]", "tracing")
    page.keyboard.press("Enter")
    page.wait_for_url("**/blocks/?q=tracing*")
    titles = page.locator("article.bb-card h2").all_inner_texts()
    # Title matches first (equal rank, then by title), the summary match after them.
    assert titles == [
        "Case study: tracing at a bank",
        "Tracing demo script",
        "Observability discovery guide",
    ]
    assert "Tracing pricing draft" not in page.content()
    screenshot(page, "blocks-library-search")

    page.locator('[data-facet="kind"] a', has_text="Case study").click()
    page.wait_for_url("**kind=case_study*")
    assert page.locator("article.bb-card h2").all_inner_texts() == ["Case study: tracing at a bank"]
    # The kind facet still offers the other kinds of the search, with their counts.
    assert "Demo script" in page.inner_text('[data-facet="kind"]')
    page.locator(".bb-chip", has_text="Search: tracing").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_test_id("result-count").inner_text() == "1 block"
    page.get_by_role("link", name="Clear all").click()
    page.locator('[data-facet="use_case"] a', has_text="Security").click()
    page.wait_for_url("**use_case=security*")
    assert page.locator("article.bb-card h2").all_inner_texts() == ["SIEM sizing sheet"]
    screenshot(page, "blocks-library-filtered")


def test_publish_flow_across_two_curators(page, erin, frank, alice, stages, tmp_path):
    login(page, "erin")
    page.goto("/blocks/new/")
    page.fill("input[name=title]", "POC success plan")
    page.select_option("select[name=kind]", "solution_template")
    page.fill("textarea[name=summary]", "Scope, criteria, dates and sign-off.")
    page.fill("textarea[name=body]", "## Criteria\n\n- MTTR below 30 minutes\n- **Signed** off")
    page.locator("#bb-preview h2", has_text="Criteria").wait_for()
    page.get_by_label("Discovery").check()
    page.get_by_label("Observability").check()
    exe = tmp_path / "plan.pdf"
    exe.write_bytes(EXE)
    page.set_input_files("input[name=file]", str(exe))
    page.get_by_role("button", name="Save draft").click()
    error = page.get_by_test_id("error-file")
    assert "program or script" in error.inner_text()
    screenshot(page, "blocks-upload-refused")
    assert not BuildingBlock.objects.exists()

    pdf = tmp_path / "POC plan (final).pdf"
    pdf.write_bytes(PDF)
    page.set_input_files("input[name=file]", str(pdf))
    page.get_by_role("button", name="Save draft").click()
    page.get_by_test_id("status").wait_for()
    assert page.get_by_test_id("status").inner_text() == "Draft"
    assert page.get_by_test_id("file-link").inner_text() == "POC-plan-final.pdf"
    page.get_by_role("button", name="Submit for review").click()
    assert page.get_by_test_id("status").inner_text() == "In review"
    assert page.get_by_role("button", name="Approve and publish").count() == 0
    screenshot(page, "blocks-waiting-for-review")

    page.context.clear_cookies()
    login(page, "frank")
    page.goto("/blocks/review/")
    card = page.locator("article.bb-card", has_text="POC success plan")
    card.locator("summary", has_text="Send back").click()
    card.locator("textarea[name=comment]").fill("Add who signs off.")
    screenshot(page, "blocks-review-queue")
    card.get_by_role("button", name="Send back to the author").click()
    page.wait_for_load_state("networkidle")
    assert BuildingBlock.objects.get().status == "draft"

    page.context.clear_cookies()
    login(page, "erin")
    block = BuildingBlock.objects.get()
    page.goto(f"/blocks/{block.pk}/")
    assert "Add who signs off." in page.inner_text("aside")
    page.get_by_role("link", name="Edit").click()
    page.fill(
        "textarea[name=body]", "## Criteria\n\n- MTTR below 30 minutes\n- Signed off by the CTO"
    )
    page.fill("input[name=note]", "Named who signs off")
    page.get_by_role("button", name="Save version 2").click()
    page.get_by_role("button", name="Submit for review").click()

    page.context.clear_cookies()
    login(page, "frank")
    page.goto(f"/blocks/{block.pk}/")
    page.get_by_role("button", name="Approve and publish").click()
    assert page.get_by_test_id("status").inner_text() == "Published"
    page.get_by_role("link", name="History (2)").click()
    assert "+- Signed off by the CTO" in page.get_by_test_id("diff").inner_text()
    screenshot(page, "blocks-history-diff")

    page.context.clear_cookies()
    login(page, "alice")
    page.goto("/blocks/?q=poc")
    assert page.locator("article.bb-card h2").all_inner_texts() == ["POC success plan"]
    page.locator("article.bb-card h2 a").click()
    screenshot(page, "blocks-detail-sa")
    assert page.get_by_test_id("curator-actions").count() == 0


def test_use_a_block_and_record_discovery_on_the_deal_page(page, alice, erin, frank, team, stages):
    services.catalog_load()
    account = factories.AccountFactory(
        name="Northwind Bank",
        industry="Banking",
        business_context="Customers report outages first; the cause of downtime stays unknown.",
    )
    deal = factories.OpportunityFactory(
        name="Northwind observability", stage=stages[0], owner=alice, team=team,
        account=account, use_case="observability", product="Kestrel APM",
    )  # fmt: skip
    guide = publish(erin, frank, title="Observability discovery guide", kind="discovery_guide",
                    summary="Outages, tools, success criteria.", stages=["discovery"],
                    use_cases=["observability"], industries=["Banking"])  # fmt: skip
    publish(erin, frank, title="Tracing demo script", kind="demo_script", stages=["demo"],
            use_cases=["observability"])  # fmt: skip

    login(page, "alice")
    page.goto(f"/opportunities/{deal.pk}/")
    # The Guide section holds the recommended blocks, the Discovery section the discovery panel.
    recommended = page.locator("#blocks-recommended-panel .bb-rec")
    assert recommended.locator("h3 a").all_inner_texts() == ["Observability discovery guide"]
    why = recommended.first.locator(".why").inner_text()
    assert "Made for the Discovery stage" in why and "Fits the Banking industry" in why

    with page.expect_response(lambda r: "/use/" in r.url):
        recommended.first.get_by_role("button", name="Use in this deal").click()
    page.get_by_test_id("used").wait_for()
    usage = BlockUsage.objects.get()
    assert (usage.block, usage.opportunity, usage.user) == (guide, deal, alice)

    page.get_by_role("tab", name="Discovery").click()
    top_down = page.get_by_test_id("top-down")
    challenge = top_down.locator('[data-challenge="downtime-unknown-cause"]')
    assert "from the account" in challenge.locator("summary").inner_text()
    challenge.locator("summary").click()
    challenge.get_by_label("Distributed tracing").check()
    challenge.get_by_label("Log correlation with traces and metrics").check()
    with page.expect_response(lambda r: "/discovery/" in r.url):
        top_down.get_by_role("button", name="Record the ticked needs").click()
    page.get_by_test_id("recorded").wait_for()
    assert DiscoveryLink.objects.filter(opportunity=deal, direction="top_down").count() == 2

    bottom_up = page.get_by_test_id("bottom-up")
    need = bottom_up.locator('[data-need="unified-platform"]')
    need.locator("summary").click()
    need.get_by_label("Monitoring is spread over too many tools").check()
    with page.expect_response(lambda r: "/discovery/" in r.url):
        bottom_up.get_by_role("button", name="Record the ticked reasons").click()
    page.locator('[data-testid="recorded"] li', has_text="Monitoring is spread").wait_for()
    assert DiscoveryLink.objects.filter(opportunity=deal, direction="bottom_up").count() == 1
    # Only one panel after the htmx swaps, never a stack of them.
    assert page.locator("#blocks-panel").count() == 1
    assert page.locator("#blocks-recommended-panel").count() == 1
    screenshot(page, "blocks-opportunity-page")
    page.locator("#blocks-panel").screenshot(path=str(SCREENSHOTS / "blocks-opportunity-panel.png"))
