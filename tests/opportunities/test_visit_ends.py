"""StageTransition.left_at: every visit ends where the deal's next transition starts."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from epos.lib.errors import InvalidInput
from opportunities.models import StageTransition
from opportunities.services import (
    checklist_item_set,
    opportunity_move_to_stage,
    transitions_relink,
    visit_times,
)
from tests import factories

pytestmark = pytest.mark.django_db


def _history(opportunity):
    return list(
        StageTransition.objects.filter(opportunity=opportunity)
        .order_by("moved_at", "pk")
        .values_list("to_stage__name", "moved_at", "left_at")
    )


def _walk(opportunity, stages, actor, start):
    for stage in stages[:2]:
        for item in stage.items.all():
            checklist_item_set(opportunity=opportunity, item=item, actor=actor, done=True)
    moves = [(stages[1], 3), (stages[2], 10), (stages[1], 12), (stages[2], 20)]
    for stage, day in moves:
        opportunity = opportunity_move_to_stage(
            opportunity=opportunity,
            to_stage=stage,
            actor=actor,
            moved_at=start + timedelta(days=day),
        )
    return opportunity


def test_each_move_ends_the_visit_before_it(alice, opportunity, stages):
    start = opportunity.created_at
    _walk(opportunity, stages, alice, start)

    history = _history(opportunity)
    names = [name for name, _, _ in history]
    assert names == ["Discovery", "Demo", "Proposal", "Demo", "Proposal"]
    # Each visit ends at the next entry; the last one is still going on.
    for (_, _, left_at), (_, next_moved_at, _) in zip(history, history[1:], strict=False):
        assert left_at == next_moved_at
    assert history[-1][2] is None
    assert [left - moved for _, moved, left in history[:-1]] == [
        timedelta(days=3),
        timedelta(days=7),
        timedelta(days=2),
        timedelta(days=8),
    ]


def test_a_move_dated_before_the_current_stage_is_refused(alice, opportunity, stages):
    for item in stages[0].items.all():
        checklist_item_set(opportunity=opportunity, item=item, actor=alice, done=True)
    with pytest.raises(InvalidInput, match="cannot be dated before"):
        opportunity_move_to_stage(
            opportunity=opportunity,
            to_stage=stages[1],
            actor=alice,
            moved_at=opportunity.stage_entered_at - timedelta(seconds=1),
        )
    assert StageTransition.objects.filter(opportunity=opportunity).count() == 1
    assert StageTransition.objects.get(opportunity=opportunity).left_at is None


def test_relink_repairs_visit_ends_from_the_order_of_the_history(alice, team, opportunity, stages):
    start = opportunity.created_at
    _walk(opportunity, stages, alice, start)
    untouched = factories.OpportunityFactory(name="Other", stage=stages[0], owner=alice, team=team)
    expected = _history(opportunity)
    # Damage the derived column: wipe it, and give the open visit an end it does not have.
    StageTransition.objects.filter(opportunity=opportunity).update(left_at=None)
    StageTransition.objects.filter(opportunity=untouched).update(left_at=timezone.now())

    changed = transitions_relink(opportunity_ids=[opportunity.pk])

    assert changed == 4  # the four ended visits; the open one was already null
    assert _history(opportunity) == expected
    # Only the deals named were repaired.
    assert StageTransition.objects.get(opportunity=untouched).left_at is not None
    assert transitions_relink() == 1
    assert StageTransition.objects.get(opportunity=untouched).left_at is None
    assert transitions_relink() == 0
    assert transitions_relink(opportunity_ids=[]) == 0


def test_relink_keeps_the_id_order_for_moves_at_the_same_moment(alice, opportunity, stages):
    moment = opportunity.created_at
    for item in stages[0].items.all():
        checklist_item_set(opportunity=opportunity, item=item, actor=alice, done=True)
    opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[1], actor=alice, moved_at=moment
    )
    StageTransition.objects.filter(opportunity=opportunity).update(left_at=None)

    transitions_relink(opportunity_ids=[opportunity.pk])

    first, second = StageTransition.objects.filter(opportunity=opportunity).order_by("pk")
    assert (first.left_at, second.left_at) == (moment, None)


def test_a_clock_behind_the_last_move_dates_the_next_move_at_it(carol, opportunity, stages):
    ahead = timezone.now() + timedelta(minutes=5)  # written by a server whose clock runs fast
    opportunity_move_to_stage(
        opportunity=opportunity,
        to_stage=stages[1],
        actor=carol,
        override_reason="ok",
        moved_at=ahead,
    )
    moved = opportunity_move_to_stage(opportunity=opportunity, to_stage=stages[0], actor=carol)

    assert moved.stage_entered_at == ahead
    assert [left for _, _, left in _history(opportunity)] == [ahead, ahead, None]


def _passed(opportunity):
    return list(
        StageTransition.objects.filter(opportunity=opportunity)
        .order_by("moved_at", "pk")
        .values_list("to_stage__name", "passed_at")
    )


def test_an_entry_is_passed_by_the_first_later_move_past_its_stage(alice, opportunity, stages):
    start = opportunity.created_at
    _walk(opportunity, stages, alice, start)  # Discovery, Demo, Proposal, back to Demo, Proposal
    at = [start, *(start + timedelta(days=day) for day in (3, 10, 12, 20))]

    assert _passed(opportunity) == [
        ("Discovery", at[1]),  # passed by the first move to Demo
        ("Demo", at[2]),  # passed by Proposal
        ("Proposal", None),  # nothing after it goes further
        ("Demo", at[4]),  # the rework visit, passed again by Proposal
        ("Proposal", None),
    ]
    # Lost is not a way past a stage; Won is.
    opportunity = opportunity_move_to_stage(
        opportunity=opportunity,
        to_stage=stages[-1],
        actor=alice,
        loss_reason="budget",
        moved_at=start + timedelta(days=21),
    )
    assert _passed(opportunity)[-2:] == [("Proposal", None), (stages[-1].name, None)]


def test_relink_recomputes_passed_entries(alice, opportunity, stages):
    _walk(opportunity, stages, alice, opportunity.created_at)
    expected = _passed(opportunity)
    StageTransition.objects.filter(opportunity=opportunity).update(passed_at=None)

    transitions_relink(opportunity_ids=[opportunity.pk])

    assert _passed(opportunity) == expected


def test_the_relink_command_repairs_history_edited_outside_the_application(
    alice, opportunity, stages
):
    _walk(opportunity, stages, alice, opportunity.created_at)
    expected = _history(opportunity), _passed(opportunity)
    StageTransition.objects.filter(opportunity=opportunity).update(left_at=None, passed_at=None)
    out = io.StringIO()

    call_command("relink_transitions", str(opportunity.pk), stdout=out)

    assert out.getvalue().strip() == "4 visit end(s) corrected."
    assert (_history(opportunity), _passed(opportunity)) == expected


def test_bulk_writers_derive_the_same_columns_as_the_move_service(alice, opportunity, stages):
    """visit_times (the importer and the bench generator) against what moves stored."""
    _walk(opportunity, stages, alice, opportunity.created_at)
    for item in stages[2].items.all():
        checklist_item_set(opportunity=opportunity, item=item, actor=alice, done=True)
    opportunity_move_to_stage(
        opportunity=opportunity,
        to_stage=stages[-2],  # Won
        actor=alice,
        moved_at=opportunity.created_at + timedelta(days=30),
    )
    rows = list(
        StageTransition.objects.filter(opportunity=opportunity)
        .select_related("to_stage")
        .order_by("moved_at", "pk")
    )

    derived = visit_times([row.to_stage for row in rows], [row.moved_at for row in rows])

    assert derived == [(row.left_at, row.passed_at) for row in rows]
    # Every open entry was passed (the last Proposal by Won); Won itself is never passed.
    assert [passed is not None for _, passed in derived] == [True] * 5 + [False]
