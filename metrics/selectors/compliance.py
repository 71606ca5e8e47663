"""Gate compliance: the share of gated stage exits with every required item done
(`consistency`), and the win rate and MTTC of deals with a gate overridden against the others
(`compliance_outcomes`)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import (
    Avg,
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
)

from metrics.cache import cached
from metrics.selectors.common import LOST, WON, optional_float
from metrics.selectors.scope import Scope, opportunity_ids
from opportunities.measures import mttc_duration, ratio
from opportunities.models import StageTransition
from stages import rules
from stages.models import Stage

# An exit that owed nothing: no override given and no required item left open (an imported
# history keeps the items its source CRM skipped as `unmet_items`, with no override).
COMPLIANT_EXIT = Q(override_reason="", unmet_items=[])


@cached("consistency")
def consistency(*, scope: Scope, stages: Sequence[Stage] | None = None) -> dict:
    """Share of gated stage exits with every required item done (no override), per stage left
    and overall. `stages`: the scope's process stages, when the caller has them already.

    The database counts exits per (stage left, stage entered) pair, which needs no join to the
    stages (whose tiny table the planner may have no statistics for); which pairs are gated is
    then decided on the few stages involved.
    """
    known = {stage.pk: stage for stage in stages or ()}
    if scope.narrowed:
        transitions = StageTransition.objects.filter(opportunity__in=opportunity_ids(scope))
    else:
        # Every deal of the process: its stages say which rows, no need to list the deals. The
        # ids go in as literals: joined to the stages instead, the planner guessed one stage
        # and probed the transitions stage by stage (5x slower than one scan).
        stage_ids = list(known) or list(
            Stage.objects.filter(process=scope.process).values_list("pk", flat=True)
        )
        transitions = StageTransition.objects.filter(to_stage_id__in=sorted(stage_ids))
    pairs = list(
        transitions.filter(from_stage__isnull=False)
        .filter(scope.period.q("moved_at"))
        .values("from_stage_id", "to_stage_id")
        .annotate(exits=Count("pk"), compliant=Count("pk", filter=COMPLIANT_EXIT))
        .order_by()
    )
    stage_ids = {row["from_stage_id"] for row in pairs} | {row["to_stage_id"] for row in pairs}
    missing = stage_ids - set(known)
    stages = known | (Stage.objects.in_bulk(missing) if missing else {})
    per_stage: dict[int, dict] = {}
    for row in pairs:
        left, entered = stages[row["from_stage_id"]], stages[row["to_stage_id"]]
        if not rules.is_gated_exit(left, entered):
            continue
        figures = per_stage.setdefault(left.pk, {"stage": left, "exits": 0, "compliant": 0})
        figures["exits"] += row["exits"]
        figures["compliant"] += row["compliant"]
    ordered = sorted(per_stage.values(), key=lambda f: (f["stage"].process_id, f["stage"].position))
    exits = sum(figures["exits"] for figures in ordered)
    compliant = sum(figures["compliant"] for figures in ordered)
    return {
        "exits": exits,
        "compliant": compliant,
        "rate": ratio(compliant, exits),
        "stages": [
            {
                "stage_id": figures["stage"].pk,
                "name": figures["stage"].name,
                "exits": figures["exits"],
                "compliant": figures["compliant"],
                "rate": ratio(figures["compliant"], figures["exits"]),
            }
            for figures in ordered
        ],
    }


def overridden_deal() -> Exists:
    """Whether the outer query's deal has a gate overridden (the drill-down's lists)."""
    return Exists(
        StageTransition.objects.filter(opportunity_id=OuterRef("pk")).exclude(COMPLIANT_EXIT)
    )


def _overridden_deal_ids() -> QuerySet:
    """Deals with a gate overridden, as one set: overrides are rare, so the database hashes it
    once instead of probing the transitions of every deal."""
    return StageTransition.objects.exclude(COMPLIANT_EXIT).values("opportunity_id")


@cached("compliance_outcomes")
def compliance_outcomes(*, scope: Scope) -> dict[str, dict]:
    """Win rate and MTTC of deals closed in the period, split by whether any of their gates was
    overridden ("overridden") or none was ("compliant")."""
    closed_in = scope.period.q("closed_at")
    won = Q(outcome=WON) & closed_in
    lost = Q(outcome=LOST) & closed_in
    rows = (
        scope.opportunities.order_by()
        .filter(Q(outcome__in=(WON, LOST)) & closed_in)
        .annotate(
            overridden=ExpressionWrapper(
                Q(pk__in=_overridden_deal_ids()), output_field=BooleanField()
            )
        )
        .values("overridden")
        .annotate(
            won=Count("pk", filter=won),
            lost=Count("pk", filter=lost),
            mttc=Avg(mttc_duration(), filter=won & Q(engaged_at__isnull=False)),
        )
        .order_by()
    )
    result = {
        name: {"won": 0, "lost": 0, "win_rate": None, "mttc_days": None}
        for name in ("compliant", "overridden")
    }
    for row in rows:
        result["overridden" if row["overridden"] else "compliant"] = {
            "won": row["won"],
            "lost": row["lost"],
            "win_rate": ratio(row["won"], row["won"] + row["lost"]),
            "mttc_days": optional_float(row["mttc"]),
        }
    return result
