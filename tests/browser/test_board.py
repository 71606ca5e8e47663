"""The stage board in real Chromium: drag and drop, the gate dialog, override, loss reason,
the keyboard "Move to…" path and the filters."""

import re

import pytest
from django.utils import timezone

from opportunities.models import ChecklistCompletion, Opportunity, StageTransition
from tests import factories
from tests.browser.conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def drag(page, card, target_list) -> None:
    """Drag with real pointer events: Sortable's fallback mode follows mouse moves, which
    Playwright's drag_and_drop (HTML5 drag events) would not trigger."""
    card.scroll_into_view_if_needed()
    card.hover()
    page.mouse.down()
    box = target_list.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 24
    page.mouse.move(x, y, steps=12)
    page.mouse.move(x, y + 6, steps=4)
    page.mouse.up()


# How often a live board asks what moved (static/js/board.js LIVE_MS).
LIVE_MS = 2500


def drag_start(page, card) -> None:
    card.scroll_into_view_if_needed()
    card.hover()
    page.mouse.down()
    box = card.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2 + 30, box["y"] + 40, steps=8)
    page.wait_for_selector(".sortable-fallback, .sortable-chosen")


def drag_finish(page, target_list) -> None:
    box = target_list.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + 24
    page.mouse.move(x, y, steps=12)
    page.mouse.move(x, y + 6, steps=4)
    page.mouse.up()


def column_cards(page, stage):
    return page.locator(f'.cards[data-stage-id="{stage.pk}"]')


def card(page, opportunity):
    return page.locator(f'[data-opportunity-id="{opportunity.pk}"].card')


def tick_all(opportunity, stage):
    for item in stage.items.all():
        ChecklistCompletion.objects.create(opportunity=opportunity, item=item, done=True)


@pytest.fixture
def board_deals(alice, team, stages):
    ready = factories.OpportunityFactory(
        name="Ready deal", stage=stages[0], owner=alice, team=team, use_case="observability"
    )
    tick_all(ready, stages[0])
    blocked = factories.OpportunityFactory(
        name="Blocked deal", stage=stages[0], owner=alice, team=team, use_case="security"
    )
    return ready, blocked


def open_board(page, username, process):
    login(page, username)
    page.goto(f"/board/{process.slug}/")
    page.wait_for_selector(".cards[data-sortable]")


def test_login_lands_on_my_board_with_columns_and_cards(page, alice, board_deals, stages):
    login(page, "alice")
    assert page.url.endswith("/")
    columns = page.locator("section.column[data-stage-id]")
    assert columns.count() == len(stages)
    assert page.locator(".card[data-opportunity-id]").count() == 2
    assert "Alice Archer" in page.inner_text("header")
    screenshot(page, "board-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    screenshot(page, "board-narrow")
    assert page.locator("summary", has_text="Filters").is_visible()


def test_dragging_a_ready_card_stores_the_transition(page, alice, board_deals, stages, process):
    ready, _ = board_deals
    open_board(page, "alice", process)
    with page.expect_response(lambda r: "/move/" in r.url) as answer:
        drag(page, card(page, ready), column_cards(page, stages[1]))
    assert answer.value.status == 200
    moved = column_cards(page, stages[1]).locator(f'[data-opportunity-id="{ready.pk}"]')
    moved.wait_for()
    assert moved.get_attribute("data-version") == "2"
    # The counters come from the server.
    assert page.inner_text(f"#column-head-{stages[1].pk} .column-count") == "1"
    assert page.inner_text(f"#column-head-{stages[0].pk} .column-count") == "1"
    ready.refresh_from_db()
    assert ready.stage_id == stages[1].pk
    last = StageTransition.objects.filter(opportunity=ready).latest("pk")
    assert (last.from_stage_id, last.to_stage_id, last.moved_by_id) == (
        stages[0].pk,
        stages[1].pk,
        alice.pk,
    )
    page.reload()
    assert column_cards(page, stages[1]).locator(f'[data-opportunity-id="{ready.pk}"]').count() == 1


def test_a_blocked_card_shows_the_dialog_and_stays(page, alice, board_deals, stages, process):
    _, blocked = board_deals
    open_board(page, "alice", process)
    drag(page, card(page, blocked), column_cards(page, stages[1]))
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert "Finish Discovery first" in dialog.inner_text()
    assert dialog.locator(".dialog-item").count() == 2
    assert dialog.locator("textarea[name=override_reason]").count() == 0  # an SA may not
    # While the dialog is open the card is back in its own column.
    assert (
        column_cards(page, stages[0]).locator(f'[data-opportunity-id="{blocked.pk}"]').count() == 1
    )
    screenshot(page, "board-gate-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="hidden")
    assert (
        column_cards(page, stages[0]).locator(f'[data-opportunity-id="{blocked.pk}"]').count() == 1
    )
    blocked.refresh_from_db()
    assert (blocked.stage_id, blocked.version) == (stages[0].pk, 1)
    assert StageTransition.objects.filter(opportunity=blocked).count() == 1


def test_ticking_the_items_in_the_dialog_lets_the_move_through(
    page, alice, board_deals, stages, process
):
    _, blocked = board_deals
    open_board(page, "alice", process)
    drag(page, card(page, blocked), column_cards(page, stages[1]))
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    for index in range(2):
        row = dialog.locator(".dialog-item").nth(index)
        with page.expect_response(lambda r: "/checklist/" in r.url):
            row.locator("input[type=checkbox]").check()
        dialog.locator(".dialog-item.is-done").nth(index).wait_for()
    assert ChecklistCompletion.objects.filter(opportunity=blocked, done=True).count() == 2
    with page.expect_response(lambda r: "/move/" in r.url) as answer:
        dialog.get_by_role("button", name="Move to Demo").click()
    assert answer.value.status == 200
    dialog.wait_for(state="hidden")
    column_cards(page, stages[1]).locator(f'[data-opportunity-id="{blocked.pk}"]').wait_for()
    blocked.refresh_from_db()
    assert blocked.stage_id == stages[1].pk
    assert StageTransition.objects.filter(opportunity=blocked).latest("pk").override_reason == ""


def test_a_manager_overrides_the_gate_with_a_reason(page, carol, board_deals, stages, process):
    _, blocked = board_deals
    open_board(page, "carol", process)
    drag(page, card(page, blocked), column_cards(page, stages[1]))
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    dialog.locator("textarea[name=override_reason]").fill("Customer confirmed scope by email")
    screenshot(page, "board-override-dialog")
    with page.expect_response(lambda r: "/move/" in r.url) as answer:
        dialog.get_by_role("button", name="Override and move").click()
    assert answer.value.status == 200
    dialog.wait_for(state="hidden")
    blocked.refresh_from_db()
    assert blocked.stage_id == stages[1].pk
    last = StageTransition.objects.filter(opportunity=blocked).latest("pk")
    assert last.override_reason == "Customer confirmed scope by email"
    assert last.moved_by_id == carol.pk and len(last.unmet_items) == 2


def test_dropping_on_lost_asks_for_the_reason(page, alice, board_deals, stages, process):
    ready, _ = board_deals
    open_board(page, "alice", process)
    lost = stages[4]
    page.locator(f'section.column[data-stage-id="{lost.pk}"]').scroll_into_view_if_needed()
    drag(page, card(page, ready), column_cards(page, lost))
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert "Why was Ready deal lost?" in dialog.inner_text()
    ready.refresh_from_db()
    assert ready.outcome == "open"
    screenshot(page, "board-lost-dialog")
    dialog.locator("input[name=loss_reason]").fill("Lost to a competitor")
    with page.expect_response(lambda r: "/move/" in r.url) as answer:
        dialog.get_by_role("button", name="Mark as lost").click()
    assert answer.value.status == 200
    dialog.wait_for(state="hidden")
    column_cards(page, lost).locator(f'[data-opportunity-id="{ready.pk}"]').wait_for()
    ready.refresh_from_db()
    assert (ready.outcome, ready.loss_reason, ready.stage_id) == (
        "lost",
        "Lost to a competitor",
        lost.pk,
    )


def test_the_keyboard_move_to_menu_moves_the_card(page, alice, board_deals, stages, process):
    ready, _ = board_deals
    open_board(page, "alice", process)
    button = card(page, ready).locator("button.move-to")
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert "Move “Ready deal” to…" in dialog.inner_text()
    # Focus starts on the first stage it can go to: Demo.
    assert page.evaluate("document.activeElement.dataset.menuStage") == str(stages[1].pk)
    screenshot(page, "board-move-menu")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.menuStage") == str(stages[2].pk)
    page.keyboard.press("ArrowUp")
    with page.expect_response(lambda r: "/move/" in r.url) as answer:
        page.keyboard.press("Enter")
    assert answer.value.status == 200
    dialog.wait_for(state="hidden")
    column_cards(page, stages[1]).locator(f'[data-opportunity-id="{ready.pk}"]').wait_for()
    # Focus returns to the moved card, so the next key press continues from there.
    assert page.evaluate("document.activeElement.closest('.card').dataset.opportunityId") == str(
        ready.pk
    )
    ready.refresh_from_db()
    assert ready.stage_id == stages[1].pk


def test_escape_in_the_menu_changes_nothing(page, alice, board_deals, stages, process):
    ready, _ = board_deals
    open_board(page, "alice", process)
    card(page, ready).locator("button.move-to").click()
    page.get_by_role("dialog").wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="hidden")
    ready.refresh_from_db()
    assert ready.stage_id == stages[0].pk


def test_filters_narrow_the_board_and_the_url_keeps_them(page, alice, board_deals, stages, process):
    ready, blocked = board_deals
    open_board(page, "alice", process)
    with page.expect_response(lambda r: "use_case=security" in r.url):
        page.select_option("select[name=use_case]", "security")
    page.wait_for_function("document.querySelectorAll('.card[data-opportunity-id]').length === 1")
    assert "use_case=security" in page.url
    assert card(page, blocked).count() == 1 and card(page, ready).count() == 0
    page.reload()
    assert page.locator("select[name=use_case]").input_value() == "security"
    assert card(page, ready).count() == 0
    # Text search narrows further and the board still drags after the swap.
    page.select_option("select[name=use_case]", "")
    with page.expect_response(lambda r: "q=Ready" in r.url):
        page.fill(".filters input[name=q]", "Ready")
    page.wait_for_function("document.querySelectorAll('.card[data-opportunity-id]').length === 1")
    assert "q=Ready" in page.url and card(page, ready).count() == 1
    with page.expect_response(lambda r: "/move/" in r.url) as answer:
        drag(page, card(page, ready), column_cards(page, stages[1]))
    assert answer.value.status == 200
    ready.refresh_from_db()
    assert ready.stage_id == stages[1].pk


def test_a_stale_card_is_refreshed_with_an_explanation(
    page, alice, carol, board_deals, stages, process
):
    from opportunities.services import opportunity_move_to_stage

    ready, _ = board_deals
    open_board(page, "alice", process)
    # Carol moves the card while Alice is dragging it: the live board leaves a dragged card
    # alone (however many times it asks meanwhile), so the drop meets the stale version.
    grabbed = card(page, ready)
    drag_start(page, grabbed)
    opportunity_move_to_stage(
        opportunity=ready, to_stage=stages[2], actor=carol, override_reason="Demo done offline"
    )
    page.wait_for_timeout(3 * LIVE_MS)
    assert page.evaluate(f"document.getElementById('card-{ready.pk}').dataset.version") == "1"
    drag_finish(page, column_cards(page, stages[1]))
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert "changed meanwhile" in dialog.inner_text()
    dialog.get_by_role("button", name="OK").click()
    fresh = column_cards(page, stages[2]).locator(f'[data-opportunity-id="{ready.pk}"]')
    fresh.wait_for()
    assert fresh.get_attribute("data-version") == "2"
    ready.refresh_from_db()
    assert ready.stage_id == stages[2].pk


def test_show_more_loads_the_next_cards_which_drag_like_the_others(
    page, alice, team, process, stages
):
    deals = [
        factories.OpportunityFactory(
            name=f"Deal {index:02d}", stage=stages[0], owner=alice, team=team
        )
        for index in range(27)
    ]
    for deal in deals:
        tick_all(deal, stages[0])
    open_board(page, "alice", process)
    first_column = column_cards(page, stages[0])
    assert first_column.locator(".card").count() == 25
    with page.expect_response(lambda r: "/column/" in r.url):
        page.get_by_role("button", name=re.compile("Show more")).click()
    page.wait_for_function(
        f"document.querySelectorAll('.cards[data-stage-id=\"{stages[0].pk}\"] .card').length === 27"
    )
    assert page.get_by_role("button", name=re.compile("Show more")).count() == 0
    # The oldest deal came with the second page; it drags like any other card.
    oldest = card(page, deals[0])
    with page.expect_response(lambda r: "/move/" in r.url) as answer:
        drag(page, oldest, column_cards(page, stages[1]))
    assert answer.value.status == 200
    deals[0].refresh_from_db()
    assert deals[0].stage_id == stages[1].pk


def test_empty_board_and_empty_columns_explain_themselves(page, alice, process, stages):
    open_board(page, "alice", process)
    assert page.locator(".column-empty:visible").count() == len(stages)
    assert "No deals in this stage" in page.inner_text(
        f'section.column[data-stage-id="{stages[0].pk}"]'
    )
    assert f"No open deals in {process.name} yet" in page.inner_text("#board")
    assert page.get_by_role("link", name="Create the first opportunity").is_visible()
    screenshot(page, "board-empty")
    page.goto("/opportunities/?search=nothing-matches")
    assert "No opportunities here" in page.inner_text("main")
    screenshot(page, "opportunities-empty")


def test_the_board_with_demo_like_data_on_a_narrow_screen(page, alice, bob, team, process, stages):
    """Enough cards to scroll: the screenshot shows how a phone sees a real board."""
    for index in range(12):
        deal = factories.OpportunityFactory(
            name=f"{['Globex', 'Initech', 'Hooli'][index % 3]} – platform rollout {index}",
            stage=stages[index % 3],
            owner=[alice, bob][index % 2],
            team=team,
            use_case=["observability", "security", "search"][index % 3],
            stage_entered_at=timezone.now() - timezone.timedelta(days=index * 3),
        )
        if index % 2:
            tick_all(deal, stages[index % 3])
    page.set_viewport_size({"width": 390, "height": 844})
    open_board(page, "alice", process)
    assert Opportunity.objects.count() == 12
    assert re.search(r"\d+", page.inner_text(f"#column-head-{stages[0].pk} .column-count"))
    screenshot(page, "board-narrow-busy")


def test_leaving_the_search_field_does_not_reload_the_board(page, alice, board_deals, process):
    """The search already ran while typing; its `change` on blur (a user reaching for a card)
    once reloaded the board under the drag."""
    open_board(page, "alice", process)
    with page.expect_response(lambda r: "q=Ready" in r.url):
        page.fill(".filters input[name=q]", "Ready")
    page.wait_for_function("document.querySelectorAll('.card[data-opportunity-id]').length === 1")
    board_requests = []
    page.on("request", lambda request: board_requests.append(request.url))

    page.locator(".card-title").first.hover()
    page.mouse.down()
    page.mouse.up()
    # Longer than the search's 400 ms debounce: a request would have left by now.
    page.wait_for_timeout(900)

    # (The live board's own "what moved?" questions go on meanwhile; they reload nothing.)
    assert [url for url in board_requests if "/board/" in url and "/changes/" not in url] == []
