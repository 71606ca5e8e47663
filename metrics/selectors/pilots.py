"""Pilots: a process tried by some people, against the baseline process over the same window.
The arms' figures come from here; metrics.statistics compares them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Case, Count, Q, QuerySet, Value, When

from epos.lib.roles import ADMIN, SA, has_role
from metrics.models import Pilot
from metrics.selectors.common import LOST, OPEN, QUALIFIED_OUT, WON, percentiles_of
from metrics.selectors.scope import Period
from opportunities import permissions as opportunity_permissions
from opportunities.measures import mttc_duration, ratio
from opportunities.models import Opportunity


def pilot_list() -> QuerySet[Pilot]:
    return Pilot.objects.select_related("process", "baseline_process", "created_by").annotate(
        member_count=Count("members", distinct=True)
    )


def pilot_get(pk) -> Pilot | None:
    return (
        Pilot.objects.select_related("process", "baseline_process", "created_by", "rolled_out_by")
        .prefetch_related("members")
        .filter(pk=pk)
        .first()
    )


def pilot_arm_q(pilot: Pilot, arm: str) -> Q:
    """The pilot arm: deals of the members, created in the window, on the pilot process. The
    control arm: the deals created in the same window on the baseline process."""
    window = Period.of_dates(pilot.starts_on, pilot.ends_on).q("created_at")
    if arm == "pilot":
        members = Pilot.members.through.objects.filter(pilot_id=pilot.pk).values("user_id")
        return Q(process_id=pilot.process_id, owner_id__in=members) & window
    if arm == "control":
        return Q(process_id=pilot.baseline_process_id) & window
    raise ValueError(arm)


@dataclass
class PilotArm:
    name: str
    opportunities: int = 0
    won: int = 0
    lost: int = 0
    open: int = 0
    qualified_out: int = 0
    mttc_days: list[float] = field(default_factory=list)

    @property
    def win_rate(self) -> float | None:
        return ratio(self.won, self.won + self.lost)

    @property
    def mttc_mean(self) -> float | None:
        return float(np.mean(self.mttc_days)) if self.mttc_days else None

    @property
    def mttc_median(self) -> float | None:
        return percentiles_of(self.mttc_days, (0.5,))[0]


def pilot_arms(pilot: Pilot) -> dict[str, PilotArm]:
    """Counts per arm in one query and the MTTC of each won deal (the statistics need the
    values, not only their mean) in another."""
    arm = Case(
        When(pilot_arm_q(pilot, "pilot"), then=Value("pilot")),
        When(pilot_arm_q(pilot, "control"), then=Value("control")),
        default=Value(""),
    )
    rows = Opportunity.objects.annotate(arm=arm).exclude(arm="").order_by()
    counts = rows.values("arm").annotate(
        opportunities=Count("pk"),
        won=Count("pk", filter=Q(outcome=WON)),
        lost=Count("pk", filter=Q(outcome=LOST)),
        open=Count("pk", filter=Q(outcome=OPEN)),
        qualified_out=Count("pk", filter=Q(outcome=QUALIFIED_OUT)),
    )
    arms = {"pilot": PilotArm("pilot"), "control": PilotArm("control")}
    for row in counts:
        target = arms[row["arm"]]
        for name in ("opportunities", "won", "lost", "open", "qualified_out"):
            setattr(target, name, row[name])
    durations = (
        rows.filter(outcome=WON, engaged_at__isnull=False)
        .annotate(days=mttc_duration())
        .values_list("arm", "days")
        .order_by("arm", "days")
    )
    for name, days in durations:
        arms[name].mttc_days.append(days)
    return arms


def pilot_members(*, user):
    """SAs a pilot may enlist: everyone for admins, the members of a manager's teams."""
    users = get_user_model().objects.filter(is_active=True, groups__name=SA)
    if not has_role(user, ADMIN):
        managed = list(opportunity_permissions.managed_team_ids(user))
        users = users.filter(teams__in=managed)
    return users.distinct().order_by("last_name", "first_name")
