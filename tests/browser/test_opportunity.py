"""The opportunity page in real Chromium: the path, the checklist toggles, the sections that
post through htmx, and the move buttons."""

import pytest

from opportunities.models import Activity, ChecklistCompletion, Qualification
from tests import factories
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def deal(alice, team, stages):
    stage = stages[0]
    stage.goal = "Understand the pains behind the request"
    stage.guidance = (
        "- Ask **who** is on call\n- Map the current tools\n\n<script>alert(1)</script>"
    )
    stage.save()
    stage.tools.add(factories.ToolFactory(name="Google Docs", url="https://docs.google.com/"))
    opportunity = factories.OpportunityFactory(
        name="Acme observability", stage=stage, owner=alice, team=team
    )
    factories.ContactFactory(
        account=opportunity.account, name="Wile E. Coyote", email="wile@acme.example"
    )
    return opportunity


def test_the_checklist_toggles_on_the_opportunity_page(page, alice, deal, stages):
    dialogs = []
    page.on("dialog", lambda d: dialogs.append(d.message))  # an alert() would land here
    login(page, "alice")
    page.goto(f"/opportunities/{deal.pk}/")
    assert page.locator('.path-step[aria-current="step"]').inner_text().startswith("Discovery")
    assert "Understand the pains" in page.inner_text(".stage-panel")
    assert page.locator(".guidance strong", has_text="who").count() == 1
    screenshot(page, "opportunity-desktop")

    first = stages[0].items.order_by("position").first()
    row = page.locator(f"#check-item-{first.pk}")
    with page.expect_response(lambda r: "/checklist/" in r.url):
        row.locator("input[type=checkbox]").check()
    page.locator(f"#check-item-{first.pk}.is-done").wait_for()
    assert ChecklistCompletion.objects.get(opportunity=deal, item=first).done
    assert "Done by Alice Archer" in page.inner_text(f"#check-item-{first.pk}")

    # Evidence and a note on the same item, then untick it.
    page.locator(f"#check-item-{first.pk} summary").click()
    page.fill(f"#check-item-{first.pk} input[name=evidence_url]", "https://docs.example.com/notes")
    page.fill(f"#check-item-{first.pk} textarea[name=note]", "Agreed with the CTO")
    with page.expect_response(lambda r: "/checklist/" in r.url):
        page.locator(f"#check-item-{first.pk} button", has_text="Save").click()
    page.locator(f"#check-item-{first.pk} a", has_text="evidence").wait_for()
    completion = ChecklistCompletion.objects.get(opportunity=deal, item=first)
    assert (completion.done, completion.evidence_url, completion.note) == (
        True,
        "https://docs.example.com/notes",
        "Agreed with the CTO",
    )
    with page.expect_response(lambda r: "/checklist/" in r.url):
        page.locator(f"#check-item-{first.pk} input[type=checkbox]").uncheck()
    page.locator(f"#check-item-{first.pk}:not(.is-done)").wait_for()
    completion.refresh_from_db()
    assert not completion.done and completion.note == "Agreed with the CTO"
    page.reload()
    assert not page.locator(f"#check-item-{first.pk} input[type=checkbox]").is_checked()
    assert dialogs == []


def test_sections_save_through_htmx_without_a_reload(page, alice, deal):
    login(page, "alice")
    page.goto(f"/opportunities/{deal.pk}/")
    page.evaluate("window.__marker = 1")  # survives only if the page is not reloaded
    page.get_by_role("tab", name="Qualification").click()
    page.select_option("#qualification select[name=budget]", "yes")
    page.select_option("#qualification select[name=need]", "yes")
    page.select_option("#qualification select[name=contact_level]", "executive")
    with page.expect_response(lambda r: "/qualification/" in r.url):
        page.click("#qualification button[type=submit]")
    page.locator("#qualification .score").wait_for()
    assert "40/100" in page.inner_text("#qualification .score")
    assert Qualification.objects.get(opportunity=deal).score == 40

    page.get_by_role("tab", name="Timeline").click()
    page.select_option("#activities select[name=kind]", "demo")
    page.fill("#activities textarea[name=summary]", "Showed the APM service map")
    with page.expect_response(lambda r: "/activities/" in r.url):
        page.click("#activities button[type=submit]")
    # The form comes back empty and the timeline reloads itself with the new entry.
    page.locator("#deal-timeline .timeline-item", has_text="Showed the APM service map").wait_for()
    assert page.input_value("#activities textarea[name=summary]") == ""
    assert Activity.objects.get(opportunity=deal).kind == "demo"
    page.locator(".toast", has_text="Demo recorded.").wait_for()
    assert page.locator(".toast", has_text="Demo recorded.").count() == 1
    assert page.evaluate("window.__marker") == 1


def test_move_to_the_next_stage_from_the_page(page, carol, deal, stages):
    login(page, "carol")
    page.goto(f"/opportunities/{deal.pk}/")
    page.get_by_role("button", name="Move to Demo →").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    dialog.locator("textarea[name=override_reason]").fill("Discovery done in the workshop")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Override and move").click()
    assert page.locator('.path-step[aria-current="step"]').inner_text().startswith("Demo")
    # One confirmation, on the page that was loaded again.
    [message] = page.locator("#flash .flash").all_inner_texts()
    assert message.startswith("Moved “Acme observability” to Demo.")
    assert page.locator(".toast").count() == 0
    deal.refresh_from_db()
    assert deal.stage_id == stages[1].pk
    page.get_by_role("tab", name="Timeline").click()
    override = page.locator("#deal-timeline .timeline-item.is-override")
    assert "Discovery done in the workshop" in override.inner_text()


def test_the_opportunity_page_on_a_narrow_screen(page, alice, deal):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, "alice")
    page.goto(f"/opportunities/{deal.pk}/")
    assert page.get_by_role("button", name="Move to…").is_visible()
    # Nothing is wider than the screen except the path, which scrolls on its own.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    screenshot(page, "opportunity-narrow")
