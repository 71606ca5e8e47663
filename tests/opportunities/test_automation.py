"""Checklist items that complete themselves from their evidence (opportunities.automation): each
trigger, a replay that completes nothing twice, an untick that sticks, a refused move that
completes nothing. Outbox messages are dispatched in-process here, as with no broker."""

import pytest

from building_blocks.services import block_usage_record, discovery_links_add
from epos.lib.errors import GateBlocked, InvalidInput
from epos.models import OutboxMessage
from epos.services import outbox_dispatch
from opportunities.automation import complete_from_evidence, condition_holds
from opportunities.models import ChecklistCompletion
from opportunities.services import (
    activity_record,
    checklist_item_set,
    esat_invitation_create,
    esat_record,
    opportunity_move_to_stage,
    product_gap_create,
)
from tests import factories
from tests.building_blocks.helpers import make_block

pytestmark = pytest.mark.django_db


@pytest.fixture
def evidence_stage(stages):
    """Discovery gets one item per trigger; Demo one that an ESAT survey completes."""
    discovery, demo = stages[0], stages[1]
    rules = {
        "call logged": ("activity.recorded", {"kind": ["call", "meeting"]}),
        "gap recorded": ("gap.recorded", {"severity": "deal_breaker"}),
        "survey sent": ("esat.sent", {}),
        "happy customer": ("esat.received", {"min_score": 4}),
        "demo script used": ("building_block.used", {"block_kind": "demo_script"}),
        "discovery top-down": ("discovery.recorded", {"direction": "top_down"}),
    }
    items = {}
    for position, (title, (event, condition)) in enumerate(rules.items(), start=10):
        items[title] = factories.StageItemFactory(
            stage=discovery,
            title=title,
            position=position,
            required=False,
            evidence_event=event,
            evidence_condition=condition,
        )
    items["demo survey"] = factories.StageItemFactory(
        stage=demo, title="demo survey", required=False, evidence_event="esat.sent"
    )
    return items


def dispatch_all() -> None:
    for pk in OutboxMessage.objects.filter(dispatched_at__isnull=True).values_list("pk", flat=True):
        outbox_dispatch(message_id=pk)


def done_titles(opportunity) -> set[str]:
    return set(
        ChecklistCompletion.objects.filter(opportunity=opportunity, done=True).values_list(
            "item__title", flat=True
        )
    )


def test_conditions():
    assert condition_holds({}, {"kind": "email"})
    assert condition_holds({"kind": ["call", "meeting"]}, {"kind": "call"})
    assert not condition_holds({"kind": ["call", "meeting"]}, {"kind": "email"})
    assert condition_holds({"min_score": 4}, {"score": 5})
    assert not condition_holds({"min_score": 4}, {"score": 3})
    assert not condition_holds({"min_score": 4}, {})


def test_each_trigger_completes_its_item_and_only_it(opportunity, alice, evidence_stage):
    activity_record(opportunity=opportunity, actor=alice, kind="email")  # not a call
    product_gap_create(opportunity=opportunity, actor=alice, title="SSO", severity="nice_to_have")
    dispatch_all()
    assert done_titles(opportunity) == set()

    activity_record(opportunity=opportunity, actor=alice, kind="call")
    product_gap_create(opportunity=opportunity, actor=alice, title="RBAC", severity="deal_breaker")
    esat_invitation_create(opportunity=opportunity, actor=alice, email="cto@example.com")
    esat_record(opportunity=opportunity, actor=None, score=5, source="survey")
    dispatch_all()
    assert done_titles(opportunity) == {
        "call logged",
        "gap recorded",
        "survey sent",
        "happy customer",
    }
    completion = ChecklistCompletion.objects.get(item=evidence_stage["call logged"])
    assert completion.done_by is None and completion.auto_event_id is not None
    assert completion.note.startswith("Completed automatically by an activity")


def test_block_use_and_discovery_complete_their_items(opportunity, alice, erin, evidence_stage):
    frank = factories.UserFactory(username="frank", role="curator")
    block = make_block(erin, publish_by=frank, kind="demo_script", title="Script")
    block_usage_record(block=block, opportunity=opportunity, actor=alice)
    from building_blocks.models import ChallengeNeedLink

    link = factories_link()
    discovery_links_add(
        opportunity=opportunity,
        actor=alice,
        pairs=[(link.challenge_id, link.need_id)],
        direction="top_down",
    )
    dispatch_all()
    assert {"demo script used", "discovery top-down"} <= done_titles(opportunity)
    assert ChallengeNeedLink.objects.count() == 1


def factories_link():
    from building_blocks.models import BusinessChallenge, ChallengeNeedLink, TechnicalNeed

    challenge = BusinessChallenge.objects.create(
        title="Outages cost revenue", slug="outages", use_case="observability"
    )
    need = TechnicalNeed.objects.create(
        title="Unified alerting", slug="alerting", use_case="observability"
    )
    return ChallengeNeedLink.objects.create(
        challenge=challenge, need=need, use_case="observability", narrative="Alert on one page."
    )


def test_a_replayed_event_completes_nothing_twice_and_an_untick_sticks(
    opportunity, alice, evidence_stage
):
    activity_record(opportunity=opportunity, actor=alice, kind="meeting")
    message = OutboxMessage.objects.get(topic="activity.recorded")
    dispatch_all()
    item = evidence_stage["call logged"]
    with pytest.raises(InvalidInput, match="say why"):
        checklist_item_set(opportunity=opportunity, item=item, actor=alice, done=False)
    checklist_item_set(
        opportunity=opportunity, item=item, actor=alice, done=False, note="That call was internal"
    )
    # The sweeper hands the same event over again (a worker died before it saw the commit).
    assert complete_from_evidence(message) == 0
    assert "call logged" not in done_titles(opportunity)
    # A new call is new evidence.
    activity_record(opportunity=opportunity, actor=alice, kind="call")
    dispatch_all()
    assert "call logged" in done_titles(opportunity)


def test_the_event_completes_items_of_the_stage_it_names(
    opportunity, alice, stages, evidence_stage
):
    esat_invitation_create(
        opportunity=opportunity, actor=alice, email="cto@example.com", stage=stages[1]
    )
    dispatch_all()
    assert done_titles(opportunity) == {"survey sent", "demo survey"}


def test_a_refused_move_completes_nothing(opportunity, alice, stages, evidence_stage):
    with pytest.raises(GateBlocked):
        opportunity_move_to_stage(opportunity=opportunity, to_stage=stages[1], actor=alice)
    dispatch_all()
    assert done_titles(opportunity) == set()
    assert not OutboxMessage.objects.filter(topic="opportunity.stage_changed").exists()


def test_a_closed_deal_is_not_completed(opportunity, alice, stages, evidence_stage):
    opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[-1], actor=alice, loss_reason="Price"
    )
    activity_record(opportunity=opportunity, actor=alice, kind="call")
    dispatch_all()
    assert done_titles(opportunity) == set()


def test_the_process_templates_come_with_evidence_rules():
    from stages.models import StageItem
    from stages.services import processes_load_builtin

    processes_load_builtin()
    survey = StageItem.objects.get(
        stage__process__slug="epos-presales",
        stage__slug="demo-d2w",
        title="Send the ESAT survey after the demo",
    )
    assert (survey.evidence_event, survey.evidence_condition) == ("esat.sent", {})
    calls = StageItem.objects.get(
        stage__process__slug="epos-presales", title__startswith="Run the discovery calls"
    )
    assert calls.evidence_condition == {"kind": ["call", "meeting"]}
    assert StageItem.objects.exclude(evidence_event="").count() >= 10


def test_the_rule_preview_counts_the_open_deals_it_would_have_completed(
    client, opportunity, alice, team, stages, root, evidence_stage
):
    from opportunities.automation import rule_preview

    other = factories.OpportunityFactory(stage=stages[0], owner=alice, team=team)
    activity_record(opportunity=opportunity, actor=alice, kind="call")
    activity_record(opportunity=other, actor=alice, kind="email")  # does not hold
    item = evidence_stage["call logged"]
    assert rule_preview(item) == 1
    root.is_staff = root.is_superuser = True
    root.save(update_fields=["is_staff", "is_superuser"])
    client.force_login(root)
    page = client.get(f"/admin/stages/stageitem/{item.pk}/change/").content.decode()
    assert "Would have completed this item on 1 open deal(s) in the last 90 days." in page
    dispatch_all()  # now it is done: nothing left to complete
    assert rule_preview(item) == 0


def test_bant_answers_complete_the_qualification_items_one_by_one(opportunity, alice, stages):
    from opportunities.services import qualification_update

    titles = {"budget": "Budget known", "need": "Need stated", "verdict": "Verdict recorded"}
    factories.StageItemFactory(
        stage=stages[0],
        title=titles["budget"],
        position=20,
        evidence_event="qualification.recorded",
        evidence_condition={"budget": "yes"},
    )
    factories.StageItemFactory(
        stage=stages[0],
        title=titles["need"],
        position=21,
        evidence_event="qualification.recorded",
        evidence_condition={"need": "yes"},
    )
    factories.StageItemFactory(
        stage=stages[0],
        title=titles["verdict"],
        position=22,
        evidence_event="qualification.recorded",
        evidence_condition={"verdict": ["qualified", "nurture", "price_only"]},
    )
    qualification_update(opportunity=opportunity, actor=alice, budget="no", need="unknown")
    dispatch_all()
    assert done_titles(opportunity) == set()  # nothing yes, no verdict yet

    qualification_update(opportunity=opportunity, actor=alice, budget="yes")
    dispatch_all()
    assert done_titles(opportunity) == {titles["budget"]}

    qualification = qualification_update(
        opportunity=opportunity, actor=alice, need="yes", authority="yes", timeline="yes"
    )
    dispatch_all()
    assert qualification.verdict != "unqualified"
    assert done_titles(opportunity) == set(titles.values())
    note = ChecklistCompletion.objects.get(item__title=titles["need"]).note
    assert note.startswith("Completed automatically by the qualification's answers")


def test_the_bant_template_completes_from_the_qualification():
    from stages.models import StageItem
    from stages.services import processes_load_builtin

    processes_load_builtin()
    rules = dict(
        StageItem.objects.filter(
            stage__process__slug="b2b-bant", evidence_event="qualification.recorded"
        ).values_list("title", "evidence_condition")
    )
    assert sorted(condition for rule in rules.values() for condition in rule) == [
        "authority",
        "budget",
        "need",
        "timeline",
    ]
    assert all(list(rule.values()) == ["yes"] for rule in rules.values())
