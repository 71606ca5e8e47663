"""The process's move rules (`stages.rules`), on every path that moves a deal: the pure function,
the move service, the API, the HTML move view and the importer's replay."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from epos.lib.errors import Forbidden, GateBlocked, InvalidInput
from metrics.selectors import consistency, metric_scope
from opportunities.models import ChecklistCompletion, Opportunity, StageTransition
from opportunities.services import opportunity_create, opportunity_move_to_stage
from stages import rules
from stages.models import Stage
from tests import factories

# --- the pure function ------------------------------------------------------------------------

SHAPE = rules.ProcessRules(
    (
        rules.RuleStage(1, "Preparation", 1, starts_clock=True),
        rules.RuleStage(2, "Discovery", 2),
        rules.RuleStage(3, "Workshop", 3, is_optional=True),
        rules.RuleStage(4, "Demo", 4),
        rules.RuleStage(5, "Won", 5, kind=rules.WON),
        rules.RuleStage(6, "Onboarding", 6),
        rules.RuleStage(7, "Impact", 7),
        rules.RuleStage(8, "Lost", 8, kind=rules.LOST),
    )
)
PREP, DISC, WORKSHOP, DEMO, WON, ONBOARD, IMPACT, LOST = SHAPE.stages
OPEN_ITEMS = {
    stage.key: [rules.Item(stage.key * 10, f"{stage.name} check")] for stage in SHAPE.stages
}


def judge(from_stage, to_stage, **kwargs):
    return rules.judge_move(
        SHAPE, from_stage=from_stage, to_stage=to_stage, open_items=OPEN_ITEMS, **kwargs
    )


def test_a_forward_jump_owes_every_required_stage_it_passes_but_not_the_optional_ones():
    verdict = judge(PREP, WON)
    assert [(stage.name, item.title) for stage, item in verdict.unmet] == [
        ("Preparation", "Preparation check"),
        ("Discovery", "Discovery check"),
        ("Demo", "Demo check"),
    ]
    assert verdict.override_needed.startswith("3 required item(s) of Preparation, Discovery, Demo")
    assert verdict.unmet_payload[1] == {
        "id": 20,
        "title": "Discovery check",
        "stage_id": 2,
        "stage": "Discovery",
    }


def test_a_step_back_and_a_loss_owe_nothing():
    assert judge(DEMO, DISC).unmet == () and not judge(DEMO, DISC).override_needed
    assert judge(PREP, LOST).unmet == ()


def test_leaving_a_closed_deal_is_a_reopen_gated_from_the_stage_it_closed_from():
    lost = {"outcome": "lost", "closed_from": DISC}
    assert judge(LOST, DISC, **lost).override_needed == ""  # back where it closed
    assert judge(LOST, PREP, **lost).override_needed == ""  # or earlier
    further = judge(LOST, DEMO, **lost)
    assert [stage.name for stage, _ in further.unmet] == ["Discovery"]
    assert further.reopen


def test_lost_to_won_needs_an_override_even_with_nothing_open():
    verdict = rules.judge_move(
        SHAPE, from_stage=LOST, to_stage=WON, outcome="lost", closed_from=DEMO, open_items={}
    )
    assert verdict.unmet == () and "override" in verdict.override_needed


def test_post_sale_stages_come_only_after_a_win():
    assert "after the deal is won" in judge(DEMO, ONBOARD).problem
    assert "after the deal is won" in judge(None, ONBOARD).problem
    assert judge(None, WON).problem  # a deal starts open
    assert judge(WON, ONBOARD, outcome="won", closed_from=DEMO).override_needed == ""
    skipping = judge(WON, IMPACT, outcome="won", closed_from=DEMO)
    assert [stage.name for stage, _ in skipping.unmet] == ["Onboarding"]


def test_refusals_are_typed():
    verdict = judge(PREP, DEMO)
    with pytest.raises(GateBlocked) as blocked:
        verdict.refuse(override_reason="", may_override=True, loss_reason="", to_stage=DEMO)
    assert len(blocked.value.extra["unmet_items"]) == 2
    with pytest.raises(rules.OverrideNotAllowed):
        verdict.refuse(override_reason="why", may_override=False, loss_reason="", to_stage=DEMO)
    with pytest.raises(rules.LossReasonMissing):
        judge(PREP, LOST).refuse(
            override_reason="", may_override=False, loss_reason="", to_stage=LOST
        )
    with pytest.raises(InvalidInput):
        judge(DEMO, DEMO).refuse(
            override_reason="", may_override=True, loss_reason="", to_stage=DEMO
        )


def test_after_a_move_the_clock_and_the_close_follow_the_stage():
    t = datetime(2026, 1, 1, tzinfo=UTC)
    start = rules.DealClock("open", None, None)
    won = rules.after_move(SHAPE, start, to_stage=WON, at=t)
    assert won == rules.DealClock("won", t, t)
    onboarding = rules.after_move(SHAPE, won, to_stage=ONBOARD, at=t + timedelta(days=3))
    assert onboarding == won  # the win and its date stand
    back_to_won = rules.after_move(SHAPE, onboarding, to_stage=WON, at=t + timedelta(days=5))
    assert back_to_won.closed_at == t
    reopened = rules.after_move(SHAPE, won, to_stage=DEMO, at=t + timedelta(days=9))
    assert reopened == rules.DealClock("open", t, None)


# --- the service, the API and the board's move view ------------------------------------------


@pytest.fixture
def bowtie(db):
    """Preparation (clock) → Discovery → Workshop (optional) → Demo → Won → Onboarding → Lost,
    each open stage with one required item."""
    process = factories.ProcessFactory()
    specs = [
        ("Preparation", "open", False),
        ("Discovery", "open", False),
        ("Workshop", "open", True),
        ("Demo", "open", False),
        ("Won", "won", False),
        ("Onboarding", "open", False),
        ("Lost", "lost", False),
    ]
    stages = {}
    for position, (name, kind, optional) in enumerate(specs, start=1):
        stage = factories.StageFactory(
            process=process,
            position=position,
            name=name,
            slug=name.lower(),
            kind=kind,
            is_optional=optional,
            probability={"won": 100, "lost": 0}.get(kind, 30),
            starts_clock=position == 1,
        )
        if kind == "open":
            factories.StageItemFactory(stage=stage, title=f"{name} check", position=0)
        stages[name] = stage
    return process, stages


@pytest.fixture
def deal(bowtie, alice, team):
    _, stages = bowtie
    return factories.OpportunityFactory(
        name="Bow-tie deal", stage=stages["Preparation"], owner=alice, team=team
    )


def tick(opportunity, *stages):
    for stage in stages:
        for item in stage.items.all():
            ChecklistCompletion.objects.create(opportunity=opportunity, item=item, done=True)


def move(opportunity, stage, actor, **kwargs):
    return opportunity_move_to_stage(opportunity=opportunity, to_stage=stage, actor=actor, **kwargs)


@pytest.mark.django_db
def test_jumping_to_won_over_required_stages_is_refused_with_the_items_of_each(deal, bowtie, alice):
    _, stages = bowtie
    tick(deal, stages["Preparation"])
    with pytest.raises(GateBlocked) as blocked:
        move(deal, stages["Won"], alice)
    assert [(row["stage"], row["title"]) for row in blocked.value.extra["unmet_items"]] == [
        ("Discovery", "Discovery check"),
        ("Demo", "Demo check"),
    ]
    deal.refresh_from_db()
    assert deal.stage == stages["Preparation"] and deal.version == 1


@pytest.mark.django_db
def test_an_optional_stage_may_be_skipped(deal, bowtie, alice):
    _, stages = bowtie
    tick(deal, stages["Preparation"], stages["Discovery"])
    move(deal, stages["Discovery"], alice)
    moved = move(deal, stages["Demo"], alice)  # over Workshop, which is optional
    assert moved.stage == stages["Demo"]


@pytest.mark.django_db
def test_a_managers_override_of_a_skip_records_the_open_items_with_their_stages(
    deal, bowtie, alice, carol
):
    _, stages = bowtie
    with pytest.raises(Forbidden):
        move(deal, stages["Demo"], alice, override_reason="Customer demo booked")
    move(deal, stages["Demo"], carol, override_reason="Customer demo booked")
    last = StageTransition.objects.filter(opportunity=deal).latest("moved_at", "pk")
    assert last.override_reason == "Customer demo booked"
    assert [row["stage"] for row in last.unmet_items] == ["Preparation", "Discovery"]


@pytest.mark.django_db
def test_a_deal_is_lost_from_any_open_stage_without_a_gate(deal, bowtie, alice):
    _, stages = bowtie
    lost = move(deal, stages["Lost"], alice, loss_reason="No budget")
    assert lost.outcome == "lost"


@pytest.mark.django_db
def test_a_lost_deal_reopens_where_it_closed_and_goes_on_by_the_rules(deal, bowtie, alice):
    _, stages = bowtie
    tick(deal, stages["Preparation"])
    move(deal, stages["Discovery"], alice)
    move(deal, stages["Lost"], alice, loss_reason="Timing")
    with pytest.raises(GateBlocked) as blocked:
        move(deal, stages["Demo"], alice)  # past Discovery, whose check is open
    assert [row["stage"] for row in blocked.value.extra["unmet_items"]] == ["Discovery"]
    reopened = move(deal, stages["Discovery"], alice)
    assert (reopened.outcome, reopened.closed_at, reopened.loss_reason) == ("open", None, "")


@pytest.mark.django_db
def test_lost_to_won_needs_a_managers_override(deal, bowtie, alice, carol):
    _, stages = bowtie
    tick(deal, *[s for s in stages.values() if s.kind == "open"])
    for name in ("Discovery", "Demo"):
        move(deal, stages[name], alice)
    move(deal, stages["Lost"], alice, loss_reason="Price")
    with pytest.raises(GateBlocked) as blocked:
        move(deal, stages["Won"], alice)
    assert blocked.value.extra["unmet_items"] == []
    with pytest.raises(Forbidden):
        move(deal, stages["Won"], alice, override_reason="Signed after all")
    won = move(deal, stages["Won"], carol, override_reason="Signed after all")
    assert won.outcome == "won"
    last = StageTransition.objects.filter(opportunity=deal).latest("moved_at", "pk")
    assert last.override_reason == "Signed after all"


@pytest.mark.django_db
def test_a_won_deal_goes_on_to_post_sale_and_keeps_its_close(deal, bowtie, alice):
    _, stages = bowtie
    tick(deal, *[s for s in stages.values() if s.kind == "open"])
    for name in ("Discovery", "Demo", "Won"):
        deal = move(deal, stages[name], alice)
    closed_at = deal.closed_at
    onboarding = move(deal, stages["Onboarding"], alice)
    assert (onboarding.outcome, onboarding.closed_at) == ("won", closed_at)


@pytest.mark.django_db
def test_no_deal_starts_in_a_post_sale_stage(bowtie, alice, api):
    process, stages = bowtie
    with pytest.raises(InvalidInput, match="after the deal is won"):
        opportunity_create(actor=alice, process=process, name="x", stage=stages["Onboarding"])
    response = api.as_user(alice).post(
        reverse("api:opportunity-list"),
        {"name": "x", "process": process.pk, "stage": stages["Onboarding"].pk},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "after the deal is won" in str(response.json())
    assert not Opportunity.objects.filter(name="x").exists()


@pytest.mark.django_db
def test_the_api_answers_a_skip_with_409_and_the_items_of_each_stage(api, deal, bowtie, alice):
    _, stages = bowtie
    response = api.as_user(alice).post(
        reverse("api:opportunity-move", args=[deal.pk]), {"stage": stages["Won"].pk}, format="json"
    )
    assert response.status_code == 409
    assert [item["stage"] for item in response.json()["unmet_items"]] == [
        "Preparation",
        "Discovery",
        "Demo",
    ]


def board_move(client, user, deal, stage):
    client.force_login(user)
    return client.post(
        reverse("opportunities:opportunity-move", args=[deal.pk]),
        {"stage": stage.pk},
        HTTP_HX_REQUEST="true",
    )


@pytest.mark.django_db
def test_the_board_dialog_lists_the_open_items_of_each_skipped_stage(client, deal, bowtie, alice):
    _, stages = bowtie
    response = board_move(client, alice, deal, stages["Demo"])
    assert response.status_code == 409
    html = response.content.decode()
    assert "Finish Preparation and Discovery first" in html
    assert html.count('class="dialog-stage"') == 2
    assert "Preparation check" in html and "Discovery check" in html


@pytest.mark.django_db
def test_the_board_dialog_offers_a_lost_deal_to_won_only_as_an_override(
    client, deal, bowtie, alice
):
    _, stages = bowtie
    move(deal, stages["Lost"], alice, loss_reason="Price")
    response = board_move(client, alice, deal, stages["Won"])
    assert response.status_code == 409
    html = response.content.decode()
    assert "needs a manager&#x27;s override" in html or "needs a manager's override" in html
    assert "data-move-submit" not in html  # nothing to tick, so no plain "Move" button


# --- the importer's replay ------------------------------------------------------------------


@pytest.mark.django_db
def test_an_imported_history_keeps_the_gates_it_broke_and_consistency_counts_them(tmp_path, root):
    from tests.importers.test_generic import deal as imported_deal
    from tests.importers.test_generic import run, yaml_mapping

    process, stages = factories.make_process(
        ("Discovery", "Demo", "Proposal"), slug="hubspot-like", required_items=1
    )
    Stage.objects.filter(pk=stages[0].pk).update(starts_clock=False)
    Stage.objects.filter(pk=stages[1].pk).update(starts_clock=True)  # engaged at Demo
    rows = [
        # Discovery → Demo (engaged) → Won: the CRM skipped Proposal.
        "H1,Skipper,closedwon,100,01/02/2024,01/05/2024,02/01/2024,,",
    ]
    result = run(tmp_path, rows, yaml_mapping("hubspot-like"))
    assert result.ok, result.errors
    won = imported_deal("H1")
    assert won.outcome == "won"  # kept as the CRM recorded it
    moves = list(won.transitions.order_by("moved_at", "pk"))
    assert [[row["stage"] for row in t.unmet_items] for t in moves] == [
        [],
        ["Discovery"],
        ["Demo", "Proposal"],
    ]
    assert all(t.override_reason == "" for t in moves)
    figures = consistency(scope=metric_scope(user=root, params={"process": process.pk}))
    assert (figures["exits"], figures["compliant"]) == (2, 0)
    assert Stage.objects.filter(process=process).count() == len(stages)
