"""SA workload: per SA, the open deals by stage, those past their stage's target, and the hours
logged on their deals in the last 30 and 90 days against their weekly capacity; per team, the
product gaps by severity and the open pipeline they put at risk.

Hours come from activities, whatever their source (typed in, Vivun, Google Calendar, Zapier),
on the deals an SA owns, counted by when the activity happened (scheduled ones still to come
are left out); an activity without a duration adds no hours. Every deal counted is one the
viewer may see (the dashboards' rule, `opportunity_list`), whatever its team: an SA's hours are
spent once, so the team filter picks the SAs and their deals follow them.

"Past target" is time_in_stage's rule (`opportunities.measures.past_target_q`) applied to
each open deal's current visit. An unknown amount is not zero: the pipeline at risk adds the
amounts it knows and counts the deals it does not (as the summary's `won_priced` does).

The number of queries is fixed: one each for the SAs, the stages, the open deals, the hours,
the gaps and the pipeline at risk, however many SAs, deals and activities there are. On
PostgreSQL the last four parts run side by side (metrics.lanes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from epos.lib.roles import ADMIN, MANAGER, SA, has_role
from metrics import lanes
from metrics.models import SaCapacity
from metrics.selectors.common import AMOUNT, OPEN, money
from opportunities import permissions as opportunity_permissions
from opportunities.measures import DaysBetween, past_target_q, ratio
from opportunities.models import Activity, Opportunity, ProductGap, Team
from opportunities.selectors import activity_list, opportunity_list, product_gap_list
from stages.models import Process, Stage

WINDOWS = (30, 90)
DEFAULT_WINDOW = 30
# A gap puts a deal at risk until it is resolved; one that will not be fixed still does.
UNRESOLVED_GAP = Q(
    status__in=(ProductGap.Status.OPEN, ProductGap.Status.PLANNED, ProductGap.Status.WONT_FIX)
)
SEVERITIES = tuple(ProductGap.Severity.values)
SEVERITY_BITS = {severity: 1 << index for index, severity in enumerate(SEVERITIES)}


@dataclass
class SaLoad:
    """One SA's row: open deals per stage id, past target, minutes logged per window."""

    user_id: int
    name: str
    username: str
    team_ids: list[int]
    weekly_hours: Decimal
    capacity_set: bool
    open_by_stage: dict[int, int] = field(default_factory=dict)
    past_target: int = 0
    minutes: dict[int, int] = field(default_factory=lambda: dict.fromkeys(WINDOWS, 0))

    @property
    def open_count(self) -> int:
        return sum(self.open_by_stage.values())

    def hours(self, window: int) -> float:
        return self.minutes[window] / 60

    def capacity_hours(self, window: int) -> float:
        """What the SA could log in `window` days: the weekly capacity times the weeks."""
        return float(self.weekly_hours) * window / 7

    def utilisation(self, window: int) -> float | None:
        """Hours logged over capacity hours; None with no capacity (0 h a week)."""
        return ratio(self.hours(window), self.capacity_hours(window))


@dataclass
class GapFigures:
    """The unresolved product gaps of one severity on a team's open deals."""

    team_id: int | None
    severity: str
    gaps: int = 0
    deals: int = 0
    amount: float = 0.0  # the known amounts of those deals, each deal once
    unpriced: int = 0  # deals among them with no amount
    currencies: tuple = ()  # (lowest, highest) currency code; differ when mixed


@dataclass
class Workload:
    now: datetime
    teams: list[Team]
    people: list[SaLoad]
    stages: list[Stage]  # the open stages the SAs' deals are in, by process and position
    gaps: list[GapFigures]


def workload_teams(user) -> QuerySet[Team]:
    """The teams whose SAs the user may see on the workload page: an admin's every team, a
    manager's the teams they manage."""
    teams = Team.objects.order_by("name")
    if has_role(user, ADMIN):
        return teams
    if has_role(user, MANAGER):
        return teams.filter(pk__in=sorted(opportunity_permissions.managed_team_ids(user)))
    return teams.none()


def _team_members(team_ids: Iterable[int]) -> QuerySet:
    """The (SA, team) memberships of these teams: active users with the SA role."""
    return Team.members.through.objects.filter(
        team_id__in=sorted(team_ids), user__is_active=True, user__groups__name=SA
    )


def workload_sa(*, user, pk) -> dict | None:
    """An SA of one of the user's workload teams, as {"id", "name"}; None otherwise."""
    teams = workload_teams(user).values("pk")
    row = (
        Team.members.through.objects.filter(
            team_id__in=teams, user_id=pk, user__is_active=True, user__groups__name=SA
        )
        .values("user_id", "user__first_name", "user__last_name", "user__username")
        .first()
    )
    if row is None:
        return None
    return {"id": row["user_id"], "name": _name(row)}


def active_sa_get(pk) -> object | None:
    """An active user with the SA role (whose capacity may be set), or None."""
    return get_user_model().objects.filter(pk=pk, is_active=True, groups__name=SA).first()


def _name(row: dict) -> str:
    name = f"{row['user__first_name'] or ''} {row['user__last_name'] or ''}".strip()
    return name or row["user__username"]


def _people(team_ids: Sequence[int], only: Sequence[int] | None) -> list[SaLoad]:
    members = _team_members(team_ids)
    if only is not None:
        members = members.filter(user_id__in=list(only))
    rows = members.values(
        "user_id",
        "team_id",
        "user__first_name",
        "user__last_name",
        "user__username",
        "user__sa_capacity__weekly_hours",
    ).order_by("user__first_name", "user__last_name", "user__username", "team_id")
    people: dict[int, SaLoad] = {}
    for row in rows:
        load = people.get(row["user_id"])
        if load is None:
            hours = row["user__sa_capacity__weekly_hours"]
            load = people[row["user_id"]] = SaLoad(
                user_id=row["user_id"],
                name=_name(row),
                username=row["user__username"],
                team_ids=[],
                weekly_hours=SaCapacity.DEFAULT_WEEKLY_HOURS if hours is None else hours,
                capacity_set=hours is not None,
            )
        load.team_ids.append(row["team_id"])
    return list(people.values())


def open_stages(process: Process | None = None) -> list[Stage]:
    """Every open stage (of one process), with its process, in display order."""
    stages = Stage.objects.filter(kind=Stage.Kind.OPEN).select_related("process")
    if process is not None:
        stages = stages.filter(process=process)
    return list(stages.order_by("process__name", "process__version", "position", "pk"))


def sa_workload(
    *,
    user,
    teams: Sequence[Team],
    process: Process | None = None,
    only: Sequence[int] | None = None,
    with_gaps: bool = True,
    now: datetime,
) -> Workload:
    """The workload of the SAs of `teams` (all of them, or those in `only`)."""
    team_ids = [team.pk for team in teams]
    people = _people(team_ids, only)
    by_id = {load.user_id: load for load in people}
    owners = sorted(by_id)
    # The three parts read different rows and do not wait for each other: on PostgreSQL they
    # run side by side (metrics.lanes), the slowest first; elsewhere one after the other.
    jobs = {}
    if with_gaps and team_ids:
        jobs["gaps"] = lambda: _gap_figures(user, team_ids, process)
    if owners:
        jobs["hours"] = lambda: _hour_rows(user, owners, process, now)
    jobs["open"] = lambda: _open_rows(user, owners, process, now)
    results = lanes.run(jobs)
    stages, open_rows = results["open"]
    for row in open_rows:
        load = by_id[row["owner_id"]]
        load.open_by_stage[row["stage_id"]] = row["deals"]
        load.past_target += row.get("late", 0)
    for row in results.get("hours", []):
        load = by_id[row["opportunity__owner_id"]]
        for window in WINDOWS:
            load.minutes[window] = row[f"minutes_{window}"] or 0
    shown = {stage_id for load in people for stage_id in load.open_by_stage}
    return Workload(
        now=now,
        teams=list(teams),
        people=people,
        stages=[stage for stage in stages if stage.pk in shown],
        gaps=results.get("gaps", []),
    )


def _owned(user, owner_ids: Iterable[int], process: Process | None) -> QuerySet[Opportunity]:
    deals = opportunity_list(user=user).filter(owner_id__in=sorted(owner_ids)).order_by()
    return deals.filter(process=process) if process is not None else deals


def _deal_past_target(stages: Iterable[Stage], now: datetime) -> Q | None:
    """An open deal whose current visit is past its stage's target (time_in_stage's rule)."""
    return past_target_q(stages, now, stage_field="stage_id", entered_field="stage_entered_at")


def _open_rows(user, owners: list[int], process, now: datetime) -> tuple[list[Stage], list]:
    """The open stages, and per SA and stage their open deals and those past target."""
    stages = open_stages(process)
    if not owners:
        return stages, []
    late = _deal_past_target(stages, now)
    aggregates = {"deals": Count("pk")}
    if late is not None:
        aggregates["late"] = Count("pk", filter=late)
    rows = (
        _owned(user, owners, process)
        .filter(outcome=OPEN)
        .values("owner_id", "stage_id")
        .annotate(**aggregates)
        .order_by()
    )
    return stages, list(rows)


def window_start(now: datetime, window: int) -> datetime:
    return now - timedelta(days=window)


def _in_window(now: datetime, window: int, prefix: str = "") -> Q:
    return Q(
        **{
            f"{prefix}occurred_at__gte": window_start(now, window),
            f"{prefix}occurred_at__lte": now,
        }
    )


def _hour_rows(user, owners: list[int], process, now: datetime) -> list[dict]:
    """Per SA, the minutes of the activities on their deals in each window."""
    activities = activity_list(user=user).filter(
        _in_window(now, max(WINDOWS)), opportunity__owner_id__in=owners
    )
    if process is not None:
        activities = activities.filter(opportunity__process=process)
    sums = {
        f"minutes_{window}": Sum("duration_minutes", filter=_in_window(now, window))
        for window in WINDOWS
    }
    return list(activities.values("opportunity__owner_id").annotate(**sums).order_by())


def _open_deals_of_teams(user, team_ids: Sequence[int], process) -> QuerySet[Opportunity]:
    deals = opportunity_list(user=user).filter(outcome=OPEN, team_id__in=sorted(team_ids))
    return (deals.filter(process=process) if process is not None else deals).order_by()


def _gaps_at_risk(severity: str | None = None) -> QuerySet[ProductGap]:
    """The unresolved gaps of the outer deal (of one severity)."""
    gaps = ProductGap.objects.filter(UNRESOLVED_GAP, opportunity_id=OuterRef("pk"))
    return gaps.filter(severity=severity) if severity else gaps


def _severity_mask():
    """The severities of the outer deal's unresolved gaps, one bit each (SEVERITY_BITS): one
    probe of its gaps per severity, whatever their number."""
    bits = [
        Case(When(Exists(_gaps_at_risk(severity)), then=Value(value)), default=Value(0))
        for severity, value in SEVERITY_BITS.items()
    ]
    return ExpressionWrapper(sum(bits[1:], bits[0]), output_field=IntegerField())


def _gap_figures(user, team_ids: Sequence[int], process) -> list[GapFigures]:
    """Per team and severity: the unresolved gaps on open deals (one query), and the pipeline
    those deals hold, each deal once whatever its number of gaps (another).

    The second groups the deals by team and by the set of severities of their gaps (a bit
    mask, computed once per deal), so a deal's amount is added once to each severity it has.
    """
    figures: dict[tuple, GapFigures] = {}
    gap_rows = product_gap_list(user=user).filter(
        UNRESOLVED_GAP,
        opportunity__outcome=OPEN,
        opportunity__team_id__in=sorted(team_ids),
    )
    if process is not None:
        gap_rows = gap_rows.filter(opportunity__process=process)
    gap_rows = (
        gap_rows.values("opportunity__team_id", "severity").annotate(gaps=Count("pk")).order_by()
    )
    for row in gap_rows:
        key = (row["opportunity__team_id"], row["severity"])
        figures[key] = GapFigures(team_id=key[0], severity=key[1], gaps=row["gaps"])
    if not figures:
        return []
    deal_rows = (
        _open_deals_of_teams(user, team_ids, process)
        .filter(Exists(_gaps_at_risk()))
        .annotate(mask=_severity_mask())
        .values("team_id", "mask")
        .annotate(
            deals=Count("pk"),
            # (Named apart from the field: `amount` below must read the deal's amount.)
            amount_total=Sum("amount", output_field=AMOUNT),
            unpriced=Count("pk", filter=Q(amount__isnull=True)),
            low=Min("currency"),
            high=Max("currency"),
        )
        .order_by()
    )
    amounts: dict[tuple, Decimal] = {}
    for row in deal_rows:
        for severity, value in SEVERITY_BITS.items():
            gap = figures.get((row["team_id"], severity))
            if gap is None or not (row["mask"] or 0) & value:
                continue
            gap.deals += row["deals"]
            gap.unpriced += row["unpriced"]
            key = (gap.team_id, severity)
            amounts[key] = amounts.get(key, Decimal("0")) + (row["amount_total"] or Decimal("0"))
            codes = [code for code in (*gap.currencies, row["low"], row["high"]) if code]
            gap.currencies = (min(codes), max(codes)) if codes else ()
    for key, amount in amounts.items():
        figures[key].amount = money(amount)
    order = {severity: index for index, severity in enumerate(SEVERITIES)}
    names = {team_id: index for index, team_id in enumerate(team_ids)}
    return sorted(
        figures.values(), key=lambda g: (names.get(g.team_id, len(names)), order[g.severity])
    )


# --- the deals behind a figure ----------------------------------------------------------------

DRILLS = {
    "past_target": "Open deals past their stage's target",
    "hours": "Deals with hours logged",
    "gaps": "Open deals with unresolved product gaps",
}


def workload_deals(
    *,
    user,
    drill: str,
    now: datetime,
    owner_id: int | None = None,
    team_ids: Sequence[int] = (),
    window: int = DEFAULT_WINDOW,
    severity: str | None = None,
    process: Process | None = None,
) -> QuerySet[Opportunity]:
    """The deals behind one figure of the workload page, by the same rules."""
    if drill == "past_target":
        late = _deal_past_target(open_stages(process), now)
        deals = _owned(user, [owner_id], process).filter(outcome=OPEN)
        deals = deals.filter(late) if late is not None else deals.none()
        return deals.annotate(
            days_in_stage=DaysBetween(
                Value(now, output_field=DateTimeField()), F("stage_entered_at")
            )
        ).order_by("stage_entered_at", "pk")
    if drill == "hours":
        minutes = (
            Activity.objects.filter(_in_window(now, window), opportunity_id=OuterRef("pk"))
            .order_by()
            .values("opportunity_id")
            .annotate(total=Sum("duration_minutes"))
            .values("total")
        )
        return (
            _owned(user, [owner_id], process)
            .annotate(window_minutes=Coalesce(Subquery(minutes, output_field=IntegerField()), 0))
            .filter(window_minutes__gt=0)
            .annotate(window_hours=Cast("window_minutes", FloatField()) / Value(60.0))
            .order_by("-window_minutes", "pk")
        )
    if drill == "gaps":
        gaps = _gaps_at_risk(severity)
        count = gaps.order_by().values("opportunity_id").annotate(n=Count("pk")).values("n")
        return (
            _open_deals_of_teams(user, team_ids, process)
            .filter(Exists(gaps))
            .annotate(gap_count=Subquery(count, output_field=IntegerField()))
            .order_by(F("amount").desc(nulls_last=True), "pk")
        )
    raise ValueError(f"Unknown list {drill!r}.")
