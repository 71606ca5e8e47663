"""The bench generator at a tiny scale: counts and consistency of what it writes (no timing)."""

from itertools import pairwise

import pytest
from django.db import connection

from bench import generate
from opportunities.models import ChecklistCompletion, Opportunity, StageTransition
from stages.models import Stage, StageItem
from tests.conftest import require_service

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

SCALE = 0.0005  # 50 opportunities


@pytest.fixture
def dataset(db):
    require_service("PostgreSQL", connection.vendor == "postgresql", "the generator uses COPY")
    return generate.generate(scale=SCALE, log=lambda line: None)


def _walks():
    walks = {}
    for transition in StageTransition.objects.select_related("from_stage", "to_stage").order_by(
        "opportunity_id", "moved_at", "pk"
    ):
        walks.setdefault(transition.opportunity_id, []).append(transition)
    return walks


def test_generator_writes_the_target_counts(dataset):
    targets = generate.Targets.for_scale(SCALE)

    assert (targets.opportunities, targets.transitions) == (50, 300)
    assert Opportunity.objects.count() == targets.opportunities
    assert StageTransition.objects.count() == targets.transitions
    assert (dataset.opportunities, dataset.transitions) == (50, 300)
    assert generate.dataset_matches(targets)
    assert not generate.dataset_matches(generate.Targets.for_scale(SCALE * 2))


def test_generator_mixes_open_and_closed_deals(dataset):
    outcomes = set(Opportunity.objects.values_list("outcome", flat=True))

    assert {"open", "won", "lost"} <= outcomes
    assert Opportunity.objects.filter(outcome="open", closed_at__isnull=False).count() == 0
    assert Opportunity.objects.exclude(outcome="open").filter(closed_at__isnull=True).count() == 0


def test_each_deal_walks_its_process_in_time_order(dataset):
    deals = {deal.pk: deal for deal in Opportunity.objects.select_related("process")}
    walks = _walks()

    assert set(walks) == set(deals)
    for deal_id, walk in walks.items():
        deal = deals[deal_id]
        first_open = deal.process.stages.filter(kind=Stage.Kind.OPEN).order_by("position").first()
        assert walk[0].from_stage is None
        assert walk[0].to_stage == first_open
        assert walk[0].moved_at == deal.created_at
        for previous, transition in pairwise(walk):
            assert transition.from_stage_id == previous.to_stage_id
            assert transition.to_stage_id != previous.to_stage_id
            assert transition.moved_at > previous.moved_at
            assert previous.to_stage.kind == Stage.Kind.OPEN  # nothing leaves Won or Lost
        assert {t.to_stage.process_id for t in walk} == {deal.process_id}


def test_each_deal_matches_its_last_transition(dataset):
    walks = _walks()

    for deal in Opportunity.objects.select_related("stage"):
        walk = walks[deal.pk]
        last = walk[-1]
        assert deal.stage_id == last.to_stage_id
        assert deal.stage_entered_at == last.moved_at
        assert deal.version == len(walk)
        expected_outcome = {"won": "won", "lost": "lost"}.get(deal.stage.kind, "open")
        assert deal.outcome == expected_outcome
        assert deal.closed_at == (None if expected_outcome == "open" else last.moved_at)
        assert bool(deal.loss_reason) == (expected_outcome == "lost")
        clock = [
            t.moved_at
            for t in walk
            if t.to_stage.kind != Stage.Kind.LOST
            and (t.to_stage.kind == Stage.Kind.WON or t.to_stage.starts_clock or _past_clock(t))
        ]
        assert deal.engaged_at == (clock[0] if clock else None)
        assert deal.team_id is not None and deal.owner.teams.filter(pk=deal.team_id).exists()


def _past_clock(transition) -> bool:
    clock = (
        Stage.objects.filter(process_id=transition.to_stage.process_id, starts_clock=True)
        .order_by("position")
        .first()
    )
    return clock is not None and transition.to_stage.position >= clock.position


def test_every_forward_exit_had_its_required_items_done(dataset):
    done = set(
        ChecklistCompletion.objects.filter(done=True).values_list("opportunity_id", "item_id")
    )
    required = {}
    for item in StageItem.objects.filter(required=True):
        required.setdefault(item.stage_id, set()).add(item.pk)
    forward_exits = 0

    for deal_id, walk in _walks().items():
        for transition in walk[1:]:
            left, entered = transition.from_stage, transition.to_stage
            if entered.kind != Stage.Kind.LOST and entered.position > left.position:
                forward_exits += 1
                missing = {
                    item for item in required.get(left.pk, ()) if (deal_id, item) not in done
                }
                assert not missing, f"deal {deal_id} left {left} with {missing} open"

    assert forward_exits > 0
    assert all(transition.unmet_items == [] for transition in StageTransition.objects.all())


def test_move_scenarios_find_deals_ready_to_shuttle(dataset, settings):
    from bench.context import BenchContext

    context = BenchContext(
        duration=1, clients=1, workers=1, broker_url="memory://", server_environment={}
    )
    shuttles = context.reserve_shuttles(count=100)

    assert shuttles
    assert {s.stage_id for s in shuttles} <= {stage.pk for stage in context.stage_pair}
    again = context.reserve_shuttles(count=100)
    assert not {s.id for s in shuttles} & {s.id for s in again}


def test_list_api_query_count_does_not_depend_on_result_size(dataset, settings):
    from bench.context import BenchContext
    from bench.scenarios.api import list_query_counts, queries_are_constant

    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    settings.SECURE_SSL_REDIRECT = False
    context = BenchContext(
        duration=1, clients=1, workers=1, broker_url="memory://", server_environment={}
    )

    counts = list_query_counts(context)

    assert set(counts) == {"admin", "admin_by_account", "sa"}
    assert len(counts["admin"]) >= 2 and len(counts["sa"]) >= 2
    assert queries_are_constant(counts), counts
