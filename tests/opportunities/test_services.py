from datetime import timedelta

import pytest
from django.utils import timezone

from epos.lib.errors import Forbidden, GateBlocked, InvalidInput, StaleVersion
from epos.models import OutboxMessage
from opportunities.models import ChecklistCompletion, Opportunity, StageTransition
from opportunities.services import (
    checklist_item_set,
    opportunity_create,
    opportunity_move_to_stage,
    qualification_update,
)
from tests import factories

pytestmark = pytest.mark.django_db


def _complete(opportunity, stage, actor):
    for item in stage.items.all():
        checklist_item_set(opportunity=opportunity, item=item, actor=actor, done=True)


def test_create_records_the_first_transition_and_starts_the_clock(alice, process, stages):
    opportunity = opportunity_create(actor=alice, process=process, name="New deal", amount=500)

    assert opportunity.stage == stages[0]
    assert opportunity.owner == alice
    assert opportunity.engaged_at == opportunity.created_at
    transition = StageTransition.objects.get(opportunity=opportunity)
    assert transition.from_stage is None and transition.to_stage == stages[0]
    assert list(OutboxMessage.objects.values_list("topic", flat=True)) == ["opportunity.created"]


def test_create_takes_the_owners_first_team(alice, team, process):
    opportunity = opportunity_create(actor=alice, process=process, name="Teamed")
    assert opportunity.team == team


def test_sa_cannot_create_a_deal_for_someone_else(alice, bob, process):
    with pytest.raises(Forbidden):
        opportunity_create(actor=alice, process=process, name="Not mine", owner=bob)
    assert not Opportunity.objects.exists()


def test_create_refuses_a_stage_of_another_process(alice, process):
    _, foreign = factories.make_process(("Elsewhere",))
    with pytest.raises(InvalidInput):
        opportunity_create(actor=alice, process=process, name="x", stage=foreign[0])
    assert not Opportunity.objects.exists()


def test_move_is_refused_while_required_items_are_open(alice, opportunity, stages):
    with pytest.raises(GateBlocked) as blocked:
        opportunity_move_to_stage(opportunity=opportunity, to_stage=stages[1], actor=alice)

    unmet = blocked.value.extra["unmet_items"]
    assert [item["title"] for item in unmet] == ["Discovery item 1", "Discovery item 2"]
    opportunity.refresh_from_db()
    assert opportunity.stage == stages[0] and opportunity.version == 1
    assert StageTransition.objects.filter(opportunity=opportunity).count() == 1
    assert not OutboxMessage.objects.filter(topic="opportunity.stage_changed").exists()


def test_move_goes_through_once_required_items_are_done(alice, opportunity, stages):
    _complete(opportunity, stages[0], alice)
    moved = opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[1], actor=alice, note="demo booked"
    )

    assert moved.stage == stages[1] and moved.version == 2
    last = StageTransition.objects.filter(opportunity=opportunity).last()
    assert (last.from_stage, last.to_stage, last.note, last.moved_by) == (
        stages[0],
        stages[1],
        "demo booked",
        alice,
    )
    assert last.unmet_items == []
    assert OutboxMessage.objects.filter(topic="opportunity.stage_changed").count() == 1


def test_sa_cannot_override_a_gate(alice, opportunity, stages):
    with pytest.raises(Forbidden):
        opportunity_move_to_stage(
            opportunity=opportunity, to_stage=stages[1], actor=alice, override_reason="trust me"
        )
    opportunity.refresh_from_db()
    assert opportunity.stage == stages[0]


def test_manager_overrides_a_gate_with_a_reason_and_it_is_recorded(carol, opportunity, stages):
    moved = opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[1], actor=carol, override_reason="exec sponsor"
    )
    assert moved.stage == stages[1]
    last = StageTransition.objects.filter(opportunity=opportunity).last()
    assert last.override_reason == "exec sponsor"
    assert [item["title"] for item in last.unmet_items] == ["Discovery item 1", "Discovery item 2"]


def test_lost_needs_a_reason(alice, opportunity, stages):
    lost = stages[-1]
    with pytest.raises(InvalidInput):
        opportunity_move_to_stage(opportunity=opportunity, to_stage=lost, actor=alice)
    moved = opportunity_move_to_stage(
        opportunity=opportunity, to_stage=lost, actor=alice, loss_reason="No budget"
    )
    assert (moved.outcome, moved.loss_reason) == ("lost", "No budget")
    assert moved.closed_at is not None
    assert OutboxMessage.objects.filter(topic="opportunity.lost").count() == 1


def test_qualified_out_is_its_own_outcome(alice, opportunity, stages):
    moved = opportunity_move_to_stage(
        opportunity=opportunity,
        to_stage=stages[-1],
        actor=alice,
        loss_reason="Only asked for a price",
        qualified_out=True,
    )
    assert moved.outcome == Opportunity.Outcome.QUALIFIED_OUT


def test_win_then_reopen_clears_the_close(carol, opportunity, stages):
    won = stages[-2]
    start = timezone.now()
    opportunity_move_to_stage(
        opportunity=opportunity,
        to_stage=won,
        actor=carol,
        override_reason="signed early",
        moved_at=start + timedelta(days=3),
    )
    opportunity.refresh_from_db()
    assert opportunity.outcome == "won" and opportunity.closed_at == start + timedelta(days=3)

    # A reopen returns to the stage the deal closed from.
    reopened = opportunity_move_to_stage(opportunity=opportunity, to_stage=stages[0], actor=carol)
    assert (reopened.outcome, reopened.closed_at) == ("open", None)
    assert OutboxMessage.objects.filter(topic="opportunity.won").count() == 1


def test_moving_backwards_skips_the_gate(alice, opportunity, stages):
    _complete(opportunity, stages[0], alice)
    opportunity_move_to_stage(opportunity=opportunity, to_stage=stages[1], actor=alice)
    back = opportunity_move_to_stage(opportunity=opportunity, to_stage=stages[0], actor=alice)
    assert back.stage == stages[0]


def test_stale_version_is_refused(alice, opportunity, stages):
    _complete(opportunity, stages[0], alice)
    with pytest.raises(StaleVersion):
        opportunity_move_to_stage(
            opportunity=opportunity, to_stage=stages[1], actor=alice, expected_version=7
        )
    assert StageTransition.objects.filter(opportunity=opportunity).count() == 1


def test_stage_of_another_process_is_refused(alice, opportunity):
    _, foreign = factories.make_process(("Elsewhere",))
    with pytest.raises(InvalidInput):
        opportunity_move_to_stage(opportunity=opportunity, to_stage=foreign[0], actor=alice)


@pytest.mark.parametrize("persona", ["bob", "dave", "erin", "nobody"])
def test_only_editors_move(request, persona, opportunity, stages):
    actor = request.getfixturevalue(persona)
    with pytest.raises(Forbidden):
        opportunity_move_to_stage(
            opportunity=opportunity, to_stage=stages[-1], actor=actor, loss_reason="x"
        )
    opportunity.refresh_from_db()
    assert opportunity.outcome == "open"


def test_clock_starts_when_the_clock_stage_is_reached(alice, team):
    process, stages = factories.make_process(("Prospecting", "Engaging"))
    stages[0].starts_clock = False
    stages[0].save()
    stages[1].starts_clock = True
    stages[1].save()
    opportunity = opportunity_create(actor=alice, process=process, name="Cold lead")
    assert opportunity.engaged_at is None
    engaged = opportunity_move_to_stage(opportunity=opportunity, to_stage=stages[1], actor=alice)
    assert engaged.engaged_at == engaged.stage_entered_at


def test_checklist_item_of_another_process_is_refused(alice, opportunity):
    foreign = factories.StageItemFactory()
    with pytest.raises(InvalidInput):
        checklist_item_set(opportunity=opportunity, item=foreign, actor=alice, done=True)
    assert not ChecklistCompletion.objects.exists()


@pytest.mark.parametrize(
    ("answers", "score", "verdict"),
    [
        ({}, 0, "unqualified"),
        (
            {
                "budget": "yes",
                "authority": "yes",
                "need": "yes",
                "timeline": "yes",
                "customer_type_known": True,
                "contact_level": "executive",
                "written_requirements": True,
            },
            100,
            "qualified",
        ),
        ({"budget": "yes", "need": "yes", "written_requirements": True}, 50, "nurture"),
        (
            {
                "budget": "yes",
                "need": "yes",
                "written_requirements": True,
                "asks_only_for_price": True,
            },
            20,
            "price_only",
        ),
        (
            {
                "budget": "yes",
                "authority": "yes",
                "timeline": "yes",
                "need": "no",
                "written_requirements": True,
            },
            65,
            "unqualified",
        ),
    ],
)
def test_qualification_score_and_verdict(alice, opportunity, answers, score, verdict):
    qualification = qualification_update(opportunity=opportunity, actor=alice, **answers)
    assert (qualification.score, qualification.verdict) == (score, verdict)


def test_post_sale_stages_keep_the_win_and_need_it_first(carol, team):
    process, stages = factories.make_process(("Trade",))
    won, lost = stages[1], stages[2]
    lost.position = 4
    lost.save()
    onboarding = factories.StageFactory(
        process=process, position=3, name="Onboarding", slug="onboarding", probability=100
    )
    opportunity = factories.OpportunityFactory(stage=stages[0], team=team)

    with pytest.raises(InvalidInput, match="move it to Won first"):
        opportunity_move_to_stage(opportunity=opportunity, to_stage=onboarding, actor=carol)

    opportunity_move_to_stage(opportunity=opportunity, to_stage=won, actor=carol)
    opportunity.refresh_from_db()
    closed_at = opportunity.closed_at
    onboarded = opportunity_move_to_stage(opportunity=opportunity, to_stage=onboarding, actor=carol)
    assert (onboarded.outcome, onboarded.closed_at) == ("won", closed_at)

    reopened = opportunity_move_to_stage(opportunity=onboarded, to_stage=stages[0], actor=carol)
    assert (reopened.outcome, reopened.closed_at) == ("open", None)


def test_an_update_that_changes_nothing_keeps_the_version(opportunity, alice):
    from opportunities.services import opportunity_update

    before = opportunity.version
    same = opportunity_update(
        opportunity=opportunity,
        actor=alice,
        name=opportunity.name,
        amount=opportunity.amount,
        account=opportunity.account,
        team=opportunity.team,
    )
    changed = opportunity_update(opportunity=opportunity, actor=alice, name="Renamed deal")

    assert same.version == before
    assert changed.version == before + 1
