"""A small pipeline whose every metric was worked out by hand (see the table in `pipeline`).

Days count from T0 = 2025-01-01 00:00 UTC; "d12" is T0 + 12 days. The period the tests use is
the first half of 2025, [d0, 2025-07-01).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from opportunities.services import checklist_item_set, esat_record, opportunity_move_to_stage
from stages.models import StageItem
from tests import factories

T0 = datetime(2025, 1, 1, tzinfo=UTC)
PERIOD = {"closed_after": "2025-01-01T00:00:00Z", "closed_before": "2025-07-01T00:00:00Z"}


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


@dataclass
class Pipeline:
    process: object
    discovery: object
    demo: object
    proposal: object
    won: object
    lost: object
    deals: dict


class Walker:
    """Moves a deal through its stages at given moments, ticking or overriding the gates."""

    def __init__(self, opportunity, actor):
        self.opportunity = opportunity
        self.actor = actor

    def tick(self, until=None):
        """Tick the required items of the current stage and of every stage up to `until`."""
        current = self.opportunity.stage
        last = until.position - 1 if until is not None else current.position
        items = StageItem.objects.filter(
            stage__process_id=current.process_id,
            stage__position__gte=current.position,
            stage__position__lte=last,
            required=True,
        )
        for item in items:
            checklist_item_set(opportunity=self.opportunity, item=item, actor=self.actor, done=True)
        return self

    def to(self, stage, at, *, tick=False, override=False, **extra):
        if tick:
            self.tick(until=stage)
        self.opportunity = opportunity_move_to_stage(
            opportunity=self.opportunity,
            to_stage=stage,
            actor=self.actor,
            moved_at=at,
            override_reason="Customer asked to skip ahead" if override else "",
            **extra,
        )
        return self


def build_pipeline(*, team, other_team, alice, bob, carol, dave, root) -> Pipeline:
    process, stages = factories.make_process(("Discovery", "Demo", "Proposal"), required_items=1)
    discovery, demo, proposal, won, lost = stages

    def deal(name, owner, deal_team, amount, created, **extra):
        return factories.OpportunityFactory(
            name=name,
            stage=discovery,
            owner=owner,
            team=deal_team,
            amount=Decimal(amount),
            created_at=created,
            **extra,
        )

    deals = {}
    # A: straight path, every gate met. MTTC 30. Visits: Discovery 10, Demo 12, Proposal 8.
    a = Walker(deal("A", alice, team, 10_000, day(0), product="APM", source="inbound"), carol)
    a.to(demo, day(10), tick=True).to(proposal, day(22), tick=True).to(won, day(30), tick=True)
    deals["A"] = a.opportunity
    # B: skips Demo with an override, then closes with the gate met. MTTC 12.
    b = Walker(deal("B", alice, team, 20_000, day(0), product="APM", source="outbound"), carol)
    b.to(proposal, day(4), override=True).to(won, day(12), tick=True)
    deals["B"] = b.opportunity
    # C: won, reopened (back to Proposal), won again. MTTC 40 from the first clock start.
    c = Walker(deal("C", bob, team, 30_000, day(0), product="SIEM", source="inbound"), carol)
    c.to(demo, day(5), tick=True).to(won, day(15), tick=True)
    c.to(proposal, day(20)).to(won, day(40), tick=True)
    deals["C"] = c.opportunity
    # D: a backward move, then lost. MTTL 20. Visits: Discovery 6 and 2, Demo 2 and 10.
    d = Walker(deal("D", bob, team, 5_000, day(0), product="SIEM"), carol)
    d.to(demo, day(6), tick=True).to(discovery, day(8)).to(demo, day(10))
    d.to(lost, day(20), loss_reason="Price")
    deals["D"] = d.opportunity
    # E: qualified out on day 3.
    e = Walker(deal("E", alice, team, 3_000, day(0)), carol)
    e.to(lost, day(3), loss_reason="No budget", qualified_out=True)
    deals["E"] = e.opportunity
    # F: open in Demo since day 60 after an overridden gate; 40,000 at 40 %.
    f = Walker(deal("F", alice, team, 40_000, day(50), product="APM"), carol)
    f.to(demo, day(60), override=True)
    deals["F"] = f.opportunity
    # G: open in Discovery since day 100; 8,000 at 20 %.
    deals["G"] = deal("G", bob, team, 8_000, day(100))
    # H: another team's deal, bob its account executive; won on day 50.
    h = Walker(
        deal("H", dave, other_team, 99_000, day(0), account_executive=bob, product="APM"), root
    )
    h.to(won, day(50), override=True)
    deals["H"] = h.opportunity
    # I: won before the period (day -10) after 35 days.
    i = Walker(deal("I", alice, team, 7_000, day(-45)), carol)
    i.to(won, day(-10), override=True)
    deals["I"] = i.opportunity

    for name, score, stage, at in (
        ("A", 5, demo, day(15)),
        ("B", 3, discovery, day(2)),
        ("C", 4, demo, day(10)),
        ("F", 2, demo, day(70)),
        ("I", 1, discovery, day(-20)),
    ):
        # Answers through the survey link, which records with no actor.
        esat_record(opportunity=deals[name], actor=None, score=score, stage=stage, received_at=at)
    esat_record(opportunity=deals["H"], actor=root, score=5, stage=discovery, received_at=day(5))
    return Pipeline(process, discovery, demo, proposal, won, lost, deals)


@pytest.fixture
def pipeline(team, other_team, alice, bob, carol, dave, root):
    return build_pipeline(
        team=team, other_team=other_team, alice=alice, bob=bob, carol=carol, dave=dave, root=root
    )


@pytest.fixture(autouse=True)
def _no_metric_cache(settings):
    """Each test reads fresh figures; test_cache.py turns the cache on where it is the subject."""
    settings.METRICS_CACHE_SECONDS = 0


def win_g(pipeline: Pipeline, actor) -> None:
    """Deal G (open, in Discovery) is won on day 110, past its open items."""
    opportunity_move_to_stage(
        opportunity=pipeline.deals["G"],
        to_stage=pipeline.won,
        actor=actor,
        override_reason="Signed early",
        moved_at=day(110),
    )
