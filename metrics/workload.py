"""The workload page as data: one row per SA (what the CSV writes), the bars of its two charts
(utilisation against capacity, open deals by stage) and of the product-gap report, and the link
behind every number: the opportunity list filtered to those deals, or the workload drill-down.

Charts are inline SVG drawn by the server: each bar is a link, so a click drills down with no
script, and the geometry (0–100 on the x axis of a stretched viewBox) is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse

from metrics.dashboard import Column, Table
from metrics.selectors.workload import WINDOWS, GapFigures, SaLoad, Workload
from opportunities.models import ProductGap

# Utilisation bands: under 70 % has room, up to 100 % is busy, past it is over capacity.
ROOM, FULL = 0.7, 1.0
# The utilisation axis shows at least 0–150 % and at most 0–300 % (longer bars are clipped).
AXIS_MIN, AXIS_MAX = 1.5, 3.0
STAGE_COLOURS = 8  # .wl-s0 … .wl-s7 in metrics.css, by the stage's place in its process
SEVERITY_LABELS = dict(ProductGap.Severity.choices)


def band(utilisation: float | None) -> str:
    if utilisation is None:
        return "none"
    if utilisation < ROOM:
        return "room"
    if utilisation <= FULL:
        return "busy"
    return "over"


@dataclass
class Segment:
    label: str
    count: int
    x: float
    width: float
    colour: int
    href: str


@dataclass
class PersonRow:
    load: SaLoad
    teams: str
    utilisation: float | None
    band: str
    bar_width: float  # utilisation on the chart's axis, 0–100
    segments: list[Segment]
    links: dict[str, str]
    hours_href: str  # the deals behind the window's hours (the utilisation bar)
    capacity_href: str  # where the capacity form posts
    window: int
    can_edit: bool
    error: str = ""

    @property
    def window_hours(self) -> float:
        return self.load.hours(self.window)

    @property
    def capacity_hours(self) -> float:
        return self.load.capacity_hours(self.window)

    @property
    def hours_30(self) -> float:
        return self.load.hours(30)

    @property
    def hours_90(self) -> float:
        return self.load.hours(90)


@dataclass
class GapRow:
    team: str
    severity: str
    label: str
    figures: GapFigures
    href: str


@dataclass
class SeverityBar:
    severity: str
    label: str
    deals: int
    amount: float
    unpriced: int
    width: float
    href: str


@dataclass
class LegendEntry:
    label: str
    colour: int


@dataclass
class WorkloadPage:
    workload: Workload
    window: int
    rows: list[PersonRow]
    legend: list[LegendEntry]
    gap_rows: list[GapRow]
    severity_bars: list[SeverityBar]
    totals: dict
    axis_marker: float  # where 100 % falls on the utilisation axis, 0–100
    axis_max: float  # the utilisation at the right end of the axis
    table: Table
    currency: str | None = None  # the currency of every deal at risk, when they share one
    several_processes: bool = False  # the SAs' open deals run on more than one process
    mixed_currencies: bool = False
    filters: dict = field(default_factory=dict)

    @property
    def weeks(self) -> float:
        return self.window / 7


class Links:
    """The URL behind each number: the opportunity list or the workload drill-down, under the
    page's process filter (and window)."""

    def __init__(self, filters: dict):
        self.filters = filters
        self.deals = reverse("metrics:workload-deals")
        self.opportunities = reverse("opportunities:opportunity-list")

    def _process(self) -> dict:
        return {"process": self.filters["process"]} if "process" in self.filters else {}

    def open_deals(self, owner_id: int, stage_id: int | None = None) -> str:
        # The list shows open deals unless told otherwise.
        params = {"owner": owner_id, **self._process()}
        if stage_id is not None:
            params["stage"] = stage_id
        return f"{self.opportunities}?{urlencode(params)}"

    def capacity(self, user_id: int) -> str:
        """Where a capacity is saved; the page's filters ride along, so the figures the answer
        shows again are those of the page."""
        url = reverse("metrics:workload-capacity", args=[user_id])
        return f"{url}?{urlencode(self.filters)}" if self.filters else url

    def drill(self, drill: str, **params) -> str:
        query = {**self.filters, "drill": drill, **params}
        return f"{self.deals}?{urlencode(query)}"


def _stage_labels(workload: Workload) -> dict[int, str]:
    processes = {stage.process_id for stage in workload.stages}
    if len(processes) <= 1:
        return {stage.pk: stage.name for stage in workload.stages}
    return {
        stage.pk: f"{stage.name} ({stage.process.name} v{stage.process.version})"
        for stage in workload.stages
    }


@dataclass(frozen=True)
class _Scale:
    """What every person's row is drawn against."""

    labels: dict[int, str]
    colours: dict[int, int]
    stage_order: list[int]
    most_open: int
    window: int
    editable: bool


def _segments(load, scale: _Scale, links: Links) -> list[Segment]:
    """The bar of a person's open deals, one segment per stage, in the process's order."""
    segments, x = [], 0.0
    for stage_id in scale.stage_order:
        count = load.open_by_stage.get(stage_id, 0)
        if not count:
            continue
        width = count / scale.most_open * 100
        segments.append(
            Segment(
                label=scale.labels[stage_id],
                count=count,
                x=round(x, 3),
                width=round(width, 3),
                colour=scale.colours[stage_id],
                href=links.open_deals(load.user_id, stage_id),
            )
        )
        x += width
    return segments


def _person_row(
    load, utilisation, *, axis: float, teams: str, scale: _Scale, links: Links, error: str
) -> PersonRow:
    return PersonRow(
        load=load,
        teams=teams,
        utilisation=utilisation,
        band=band(utilisation),
        bar_width=round(min(utilisation or 0.0, axis) / axis * 100, 3),
        segments=_segments(load, scale, links),
        links={
            "open": links.open_deals(load.user_id),
            "past_target": links.drill("past_target", sa=load.user_id),
            **{
                f"hours_{days}": links.drill("hours", sa=load.user_id, window=days)
                for days in WINDOWS
            },
        },
        hours_href=links.drill("hours", sa=load.user_id, window=scale.window),
        capacity_href=links.capacity(load.user_id),
        window=scale.window,
        can_edit=scale.editable,
        error=error,
    )


def _totals(workload: Workload, window: int, severity_bars) -> dict:
    hours = sum(load.hours(window) for load in workload.people)
    capacity = sum(load.capacity_hours(window) for load in workload.people)
    return {
        "people": len(workload.people),
        "open": sum(load.open_count for load in workload.people),
        "past_target": sum(load.past_target for load in workload.people),
        "hours": hours,
        "capacity_hours": capacity,
        "utilisation": hours / capacity if capacity else None,
        "at_risk": next((bar for bar in severity_bars if bar.severity == "deal_breaker"), None),
    }


def build(
    workload: Workload,
    *,
    window: int,
    filters: dict,
    editable: bool,
    errors: dict[int, str] | None = None,
) -> WorkloadPage:
    """`editable`: the viewer may set these SAs' capacities (a manager sees only the SAs of the
    teams they manage, an admin every team's). `errors`: a refused capacity per SA id."""
    links = Links(filters)
    errors = errors or {}
    team_names = {team.pk: team.name for team in workload.teams}
    labels = _stage_labels(workload)
    colours = {stage.pk: (stage.position - 1) % STAGE_COLOURS for stage in workload.stages}
    scale = _Scale(
        labels=labels,
        colours=colours,
        stage_order=[stage.pk for stage in workload.stages],
        most_open=max((load.open_count for load in workload.people), default=0) or 1,
        window=window,
        editable=editable,
    )
    utilisations = [load.utilisation(window) for load in workload.people]
    axis = min(AXIS_MAX, max([AXIS_MIN, *(u for u in utilisations if u is not None)]))
    rows = [
        _person_row(
            load,
            utilisation,
            axis=axis,
            teams=", ".join(team_names[pk] for pk in load.team_ids if pk in team_names),
            scale=scale,
            links=links,
            error=errors.get(load.user_id, ""),
        )
        for load, utilisation in zip(workload.people, utilisations, strict=True)
    ]
    gap_rows = [
        GapRow(
            team=team_names.get(gap.team_id, "No team"),
            severity=gap.severity,
            label=SEVERITY_LABELS[gap.severity],
            figures=gap,
            href=links.drill("gaps", severity=gap.severity, team=gap.team_id),
        )
        for gap in workload.gaps
    ]
    severity_bars = _severity_bars(workload.gaps, links)
    currencies = _currencies(workload.gaps)
    return WorkloadPage(
        workload=workload,
        window=window,
        rows=rows,
        legend=_legend(workload, colours),
        several_processes=len({stage.process_id for stage in workload.stages}) > 1,
        gap_rows=gap_rows,
        severity_bars=severity_bars,
        totals=_totals(workload, window, severity_bars),
        axis_marker=round(1 / axis * 100, 3),
        axis_max=axis,
        table=_table(rows, workload, labels, window),
        currency=next(iter(currencies)) if len(currencies) == 1 else None,
        mixed_currencies=len(currencies) > 1,
        filters=filters,
    )


def _legend(workload: Workload, colours: dict[int, int]) -> list[LegendEntry]:
    """One entry per colour. Deals of several processes share the colours by the stage's place
    in its process (the first open stage, the second...), so an entry names those stages."""
    names: dict[int, list[str]] = {}
    for stage in workload.stages:
        shared = names.setdefault(colours[stage.pk], [])
        if stage.name not in shared:
            shared.append(stage.name)
    return [
        LegendEntry(label=" · ".join(stage_names), colour=colour)
        for colour, stage_names in sorted(names.items())
    ]


def _currencies(gaps: list[GapFigures]) -> set[str]:
    """The currencies of the deals at risk: amounts are added as recorded, never converted."""
    return {code for gap in gaps for code in gap.currencies if code}


def _severity_bars(gaps: list[GapFigures], links: Links) -> list[SeverityBar]:
    """All the teams' gaps per severity. A deal in two teams cannot be: the sums add up."""
    per_severity: dict[str, SeverityBar] = {}
    for gap in gaps:
        bar = per_severity.setdefault(
            gap.severity,
            SeverityBar(
                severity=gap.severity,
                label=SEVERITY_LABELS[gap.severity],
                deals=0,
                amount=0.0,
                unpriced=0,
                width=0.0,
                href=links.drill("gaps", severity=gap.severity),
            ),
        )
        bar.deals += gap.deals
        bar.amount += gap.amount
        bar.unpriced += gap.unpriced
    bars = [per_severity[s] for s in SEVERITY_LABELS if s in per_severity]
    largest = max((bar.amount for bar in bars), default=0.0) or 1.0
    for bar in bars:
        bar.amount = round(bar.amount, 2)
        bar.width = round(bar.amount / largest * 100, 3)
    return bars


def _table(rows: list[PersonRow], workload: Workload, labels: dict, window: int) -> Table:
    """The per-SA table as the CSV writes it: every figure, and the open deals per stage."""
    columns = [
        Column("name", "SA"),
        Column("username", "Username"),
        Column("teams", "Teams"),
        Column("open", "Open deals", "int"),
        Column("past_target", "Past stage target", "int"),
        *(Column(f"hours_{days}", f"Hours last {days} days", "number") for days in WINDOWS),
        Column("weekly_hours", "Capacity (hours a week)", "number"),
        Column("capacity_hours", f"Capacity hours in {window} days", "number"),
        Column("utilisation", f"Utilisation last {window} days", "pct"),
        *(
            Column(f"stage_{stage.pk}", f"Open in {labels[stage.pk]}", "int")
            for stage in workload.stages
        ),
    ]
    data = []
    for row in rows:
        load = row.load
        data.append(
            {
                "name": load.name,
                "username": load.username,
                "teams": row.teams,
                "open": load.open_count,
                "past_target": load.past_target,
                **{f"hours_{days}": round(load.hours(days), 2) for days in WINDOWS},
                "weekly_hours": float(load.weekly_hours),
                "capacity_hours": round(load.capacity_hours(window), 2),
                "utilisation": row.utilisation,
                **{
                    f"stage_{stage.pk}": load.open_by_stage.get(stage.pk, 0)
                    for stage in workload.stages
                },
            }
        )
    return Table(name="workload", title="Workload per SA", columns=columns, rows=data)
