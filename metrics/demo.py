"""Demo data for the metrics app, called by `seed_demo` once the demo deals exist.

    metrics.demo.seed_pilot(plan=summary["pilot"], process=..., baseline=...)

Starts the pilot the demo deals were planned for (`opportunities.demo.plan.PilotPlan`): its
members ran their new deals on the pilot version, so the pilot page compares real arms and
gives the verdict `metrics.statistics.compare` reaches on them; nothing here decides it.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from metrics import services
from metrics.models import Pilot
from metrics.selectors import pilot_arms
from metrics.statistics import PilotComparison, compare
from opportunities.demo.plan import PilotPlan
from stages.models import Process


def seed_pilot(*, plan: PilotPlan, process: Process, baseline: Process) -> Pilot | None:
    """Start the planned pilot through the service, as its manager; a no-op (None) when a
    pilot of that name on that process exists already."""
    if Pilot.objects.filter(name=plan.name, process=process).exists():
        return None
    users = get_user_model().objects.in_bulk(
        [plan.created_by, *plan.members], field_name="username"
    )
    return services.pilot_create(
        actor=users[plan.created_by],
        name=plan.name,
        hypothesis=plan.hypothesis,
        process=process,
        baseline_process=baseline,
        members=[users[username] for username in plan.members],
        starts_on=plan.starts_on,
        ends_on=plan.ends_on,
        target_metric=Pilot.TargetMetric.MTTC_CHANGE_PCT,
        target_value=plan.target_value,
    )


def pilot_verdict(pilot: Pilot) -> PilotComparison:
    """What the pilot's page says of it today."""
    return compare(pilot, pilot_arms(pilot))
