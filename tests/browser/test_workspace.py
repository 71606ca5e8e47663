"""The deal workspace and the live board in real Chromium: sections as tabs, the one timeline
and its filter, the gate dialog's held button, cancel after a tick, undo, a board that shows
another user's move within seconds, Won and Lost folded away, and the create form's account
type-ahead. Screenshots at 1440 × 900 and 390 × 844 go to tests/screenshots/."""

import re
import time

import pytest
from django.utils import timezone

from opportunities.models import (
    Account,
    Activity,
    ChecklistCompletion,
    Opportunity,
    ProductGap,
    StageTransition,
)
from opportunities.services import opportunity_move_to_stage
from tests import factories
from tests.browser.conftest import login, screenshot
from tests.browser.test_board import (
    LIVE_MS,
    card,
    column_cards,
    drag,
    drag_finish,
    drag_start,
    open_board,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def deal(alice, carol, team, stages):
    stage = stages[0]
    stage.goal = "Understand the pains behind the request"
    stage.save()
    deal = factories.OpportunityFactory(
        name="Acme observability", stage=stage, owner=alice, team=team
    )
    Activity.objects.create(
        opportunity=deal,
        kind="call",
        occurred_at=timezone.now(),
        duration_minutes=30,
        summary="Intro call with the CTO",
        created_by=alice,
    )
    ProductGap.objects.create(
        opportunity=deal, title="No mainframe agent", severity="deal_breaker", created_by=alice
    )
    return deal


def no_sideways_scroll(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_the_deal_page_is_a_workspace_of_sections_with_one_timeline(page, alice, deal, stages):
    login(page, "alice")
    page.goto(f"/opportunities/{deal.pk}/")
    tabs = page.get_by_role("tab")
    assert tabs.all_inner_texts()[0].startswith("Guide")
    assert page.locator("#guide").is_visible() and not page.locator("#timeline").is_visible()
    # The current stage's work fits in two screens.
    assert page.evaluate("document.documentElement.scrollHeight") <= 2 * 900
    screenshot(page, "deal-guide-desktop")

    page.get_by_role("tab", name="Timeline").click()
    assert page.url.endswith("#timeline")
    timeline = page.locator("#deal-timeline")
    assert timeline.is_visible() and not page.locator("#guide").is_visible()
    kinds = timeline.locator(".timeline-item").evaluate_all("els => els.map(e => e.dataset.kind)")
    assert sorted(kinds) == ["activity", "gap", "move"]
    screenshot(page, "deal-timeline-desktop")

    with page.expect_response(lambda r: "/timeline/" in r.url):
        timeline.get_by_label("Stage moves").check()
    page.wait_for_function(
        "() => document.querySelectorAll('#deal-timeline .timeline-item').length === 1"
    )
    assert page.locator("#deal-timeline .timeline-item").get_attribute("data-kind") == "move"

    # The sticky head stays in view while the page scrolls.
    page.reload()  # the #timeline fragment opens the same tab again
    assert page.locator("#timeline").is_visible()
    page.mouse.wheel(0, 600)
    head = page.locator(".deal-head").bounding_box()
    assert 0 <= head["y"] <= 60

    page.set_viewport_size({"width": 390, "height": 844})
    for name in ("Guide", "Discovery", "Timeline", "Qualification", "Deal details"):
        page.get_by_role("tab", name=name).click()
        assert no_sideways_scroll(page) <= 0, name
    screenshot(page, "deal-details-narrow")
    page.get_by_role("tab", name="Guide").click()
    screenshot(page, "deal-guide-narrow")


def test_the_gate_dialog_holds_its_button_and_a_cancel_after_a_tick_refreshes(
    page, alice, deal, stages
):
    login(page, "alice")
    page.goto(f"/opportunities/{deal.pk}/")
    page.get_by_role("button", name="Move to Demo →").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    move = dialog.get_by_role("button", name="Move to Demo")
    assert move.is_disabled()
    assert "Tick the 2 open items above to move" in dialog.inner_text()
    with page.expect_response(lambda r: "/checklist/" in r.url):
        dialog.locator(".dialog-item input[type=checkbox]").first.check()
    page.wait_for_function("() => document.querySelector('[data-gate-open]').textContent === '1'")
    assert move.is_disabled()
    screenshot(page, "deal-gate-dialog")
    # One item ticked, then Cancel: the page shows the tick (it is loaded again).
    with page.expect_navigation():
        dialog.get_by_role("button", name="Cancel").click()
    assert page.locator(".check-item.is-done").count() == 1
    assert ChecklistCompletion.objects.filter(opportunity=deal, done=True).count() == 1
    # No message was said for the tick in the dialog.
    assert page.locator(".toast").count() == 0


def test_undo_on_the_deal_page_moves_back_by_the_same_rules(page, alice, deal, stages):
    for item in stages[0].items.all():
        ChecklistCompletion.objects.create(opportunity=deal, item=item, done=True)
    login(page, "alice")
    page.goto(f"/opportunities/{deal.pk}/")
    with page.expect_navigation():
        page.get_by_role("button", name="Move to Demo →").click()
    undo = page.get_by_role("button", name="Undo (back to Discovery)")
    with page.expect_navigation():
        undo.click()
    assert page.locator('.path-step[aria-current="step"]').inner_text().startswith("Discovery")
    moves = list(
        StageTransition.objects.filter(opportunity=deal)
        .order_by("pk")
        .values_list("to_stage_id", "moved_by_id")
    )
    assert moves[-2:] == [(stages[1].pk, alice.pk), (stages[0].pk, alice.pk)]
    # The bar goes away by itself when the ten seconds are up.
    page.wait_for_selector(".undo-bar", state="detached", timeout=12_000)


@pytest.fixture
def board_deals(alice, team, stages):
    ready = factories.OpportunityFactory(name="Ready deal", stage=stages[0], owner=alice, team=team)
    for item in stages[0].items.all():
        ChecklistCompletion.objects.create(opportunity=ready, item=item, done=True)
    blocked = factories.OpportunityFactory(
        name="Blocked deal", stage=stages[0], owner=alice, team=team
    )
    return ready, blocked


def test_another_users_move_appears_on_an_open_board_within_five_seconds(
    browser, live_server, alice, carol, board_deals, stages, process
):
    ready, _ = board_deals
    contexts = [
        browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
        for _ in range(2)
    ]
    try:
        alices, carols = (context.new_page() for context in contexts)
        open_board(alices, "alice", process)
        alices.goto(f"/board/{process.slug}/?owner=any")
        alices.evaluate("window.__marker = 1")
        open_board(carols, "carol", process)
        with carols.expect_response(lambda r: "/move/" in r.url) as answer:
            drag(carols, card(carols, ready), column_cards(carols, stages[1]))
        assert answer.value.status == 200
        moved_at = time.monotonic()

        column_cards(alices, stages[1]).locator(f'[data-opportunity-id="{ready.pk}"]').wait_for(
            timeout=5_000
        )
        assert time.monotonic() - moved_at < 5
        assert alices.evaluate("window.__marker") == 1  # no reload
        count = alices.locator(f"#column-head-{stages[1].pk} .column-count").inner_text()
        assert count == "1"
        screenshot(alices, "board-live-update")
    finally:
        for context in contexts:
            context.close()


def test_a_dragged_card_is_never_pulled_from_under_the_user(
    page, alice, carol, board_deals, stages, process
):
    ready, _ = board_deals
    open_board(page, "alice", process)
    page.evaluate(f"document.getElementById('card-{ready.pk}').__mine = true")
    drag_start(page, card(page, ready))
    opportunity_move_to_stage(
        opportunity=ready, to_stage=stages[2], actor=carol, override_reason="Moved meanwhile"
    )
    page.wait_for_timeout(3 * LIVE_MS)
    # The very element being dragged is still there, untouched, where the drag left it.
    assert page.evaluate(f"document.getElementById('card-{ready.pk}').__mine") is True
    assert page.evaluate(f"document.getElementById('card-{ready.pk}').dataset.version") == "1"
    drag_finish(page, column_cards(page, stages[1]))
    page.get_by_role("dialog").wait_for()
    assert "changed meanwhile" in page.get_by_role("dialog").inner_text()


def test_undo_on_the_board_and_the_weighted_sums(page, alice, board_deals, stages, process):
    ready, _ = board_deals
    open_board(page, "alice", process)
    with page.expect_response(lambda r: "/move/" in r.url):
        drag(page, card(page, ready), column_cards(page, stages[1]))
    toast = page.locator(".toast", has_text="Moved “Ready deal” to Demo.")
    toast.wait_for()
    assert page.locator(".toast").count() == 1  # one message for one move
    screenshot(page, "board-undo-toast")
    with page.expect_response(lambda r: "/move/" in r.url) as answer:
        toast.get_by_role("button", name="Undo").click()
    assert answer.value.status == 200
    column_cards(page, stages[0]).locator(f'[data-opportunity-id="{ready.pk}"]').wait_for()
    ready.refresh_from_db()
    assert ready.stage_id == stages[0].pk
    last = StageTransition.objects.filter(opportunity=ready).latest("pk")
    assert (last.from_stage_id, last.to_stage_id, last.moved_by_id) == (
        stages[1].pk,
        stages[0].pk,
        alice.pk,
    )
    assert last.note == "Undo: back to Discovery"
    # The undo's own message offers no undo of the undo.
    page.locator(".toast", has_text="to Discovery.").wait_for()
    assert page.locator(".toast-action").count() == 0
    weighted = page.locator(f"#column-head-{stages[0].pk} .column-weighted").inner_text()
    total = sum(o.amount for o in Opportunity.objects.filter(stage=stages[0]))
    assert weighted == f"weighted {float(total) * stages[0].probability / 100 / 1000:g}k"


def test_cancelling_a_ticked_gate_dialog_on_the_board_refreshes_the_card(
    page, alice, board_deals, stages, process
):
    _, blocked = board_deals
    open_board(page, "alice", process)
    assert "✓ 0/2" in card(page, blocked).inner_text()
    drag(page, card(page, blocked), column_cards(page, stages[1]))
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    with page.expect_response(lambda r: "/checklist/" in r.url):
        dialog.locator(".dialog-item input[type=checkbox]").first.check()
    dialog.get_by_role("button", name="Cancel").click()
    page.wait_for_function(
        f"() => document.getElementById('card-{blocked.pk}').textContent.includes('✓ 1/2')",
        timeout=5_000,
    )


def test_won_and_lost_fold_away_and_stay_folded(page, alice, board_deals, stages, process):
    open_board(page, "alice", process)
    won = page.locator(f'section.column[data-stage-id="{stages[-2].pk}"]')
    won.locator("[data-column-toggle]").click()
    assert "is-collapsed" in won.get_attribute("class")
    assert won.bounding_box()["width"] < 100
    page.reload()
    assert "is-collapsed" in won.get_attribute("class")
    screenshot(page, "board-won-folded")


def test_the_create_form_finds_accounts_as_you_type(page, alice, bob, team, process, stages):
    for index in range(60):
        factories.AccountFactory(name=f"Account {index:02d}")
    globex = factories.AccountFactory(name="Globex Corporation")
    login(page, "alice")
    page.goto(f"/opportunities/new/?process={process.pk}")
    assert page.input_value("input[name=amount]") == ""
    page.fill("input[name=name]", "Globex logs")
    field = page.locator("input[name=new_account_name]")
    with page.expect_response(lambda r: "/accounts/suggest/" in r.url):
        field.type("glob", delay=30)
    options = page.locator("#account-suggestions option")
    page.wait_for_function(
        "() => document.querySelectorAll('#account-suggestions option').length === 1"
    )
    assert options.first.get_attribute("value") == "Globex Corporation"
    field.fill("Globex Corporation")
    page.select_option("select[name=account_executive]", str(bob.pk))
    screenshot(page, "create-form")
    with page.expect_navigation():
        page.get_by_role("button", name="Create opportunity").click()
    deal = Opportunity.objects.get(name="Globex logs")
    assert (deal.account, deal.account_executive, deal.amount) == (globex, bob, None)
    assert Account.objects.count() == 61
    assert re.search(rf"/opportunities/{deal.pk}/$", page.url)


def test_a_missing_name_is_shown_below_the_top_bar(page, alice, process, stages):
    login(page, "alice")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/opportunities/new/?process={process.pk}")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.get_by_role("button", name="Create opportunity").click()
    # The browser scrolls to the empty required field: it lands below the sticky top bar.
    page.wait_for_function("() => document.activeElement && document.activeElement.name === 'name'")
    field = page.locator("input[name=name]").bounding_box()
    bar = page.locator(".topbar").bounding_box()
    assert field["y"] >= bar["y"] + bar["height"]
    assert not Opportunity.objects.exists()
