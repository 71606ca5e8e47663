"""The manager dashboard as data: every section is a table (what the CSV export writes) and,
where it helps, a chart drawn from the same rows whose bars link to the opportunities behind
them. The view renders it; the export writes one table of it.

The number of queries does not depend on the data: a fixed few per section, and on PostgreSQL
the independent sections run side by side (`metrics.lanes`).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from epos.lib.spreadsheet import csv_text
from metrics import lanes, selectors
from metrics.cache import prime, refresh_claim, refresh_release
from metrics.forms import DashboardForm
from metrics.selectors import GROUPINGS, Scope

logger = logging.getLogger(__name__)

# Grouped tables under the charts, in this order.
GROUP_TABLES = ("owner", "team", "product", "use_case", "segment", "source")


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "text"  # text | int | days | pct | money | score | number
    csv_only: bool = False  # exported, but left off the page to keep the table readable


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict]
    note: str = ""

    @property
    def shown_columns(self) -> list[Column]:
        return [column for column in self.columns if not column.csv_only]

    def csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([column.title for column in self.columns])
        for row in self.rows:
            writer.writerow(
                [_csv_value(row.get(column.key), column.kind) for column in self.columns]
            )
        return buffer.getvalue()


@dataclass
class Chart:
    name: str
    title: str
    kind: str  # bar | line
    labels: list[str]
    datasets: list[dict]
    table: str
    horizontal: bool = False
    y_title: str = ""
    percent: bool = False

    def spec(self) -> dict:
        return {
            "id": f"chart-{self.name}",
            "type": self.kind,
            "labels": self.labels,
            "datasets": self.datasets,
            "horizontal": self.horizontal,
            "yTitle": self.y_title,
            "percent": self.percent,
        }


@dataclass
class Dashboard:
    scope: Scope
    summary: dict
    tables: dict[str, Table] = field(default_factory=dict)
    charts: dict[str, Chart] = field(default_factory=dict)
    dwell: selectors.DwellShiftReport | None = None
    consistency: dict | None = None
    compliance: dict | None = None
    esat: dict | None = None
    stages: list = field(default_factory=list)
    links: dict = field(default_factory=dict)

    def add(self, table: Table, chart: Chart | None = None) -> None:
        self.tables[table.name] = table
        if chart is not None:
            self.charts[chart.name] = chart


def _csv_value(value, kind: str):
    if value is None:
        return ""
    if kind == "text":
        return csv_text(value)
    if kind == "pct":
        return f"{value:.4f}"
    if kind in ("days", "score"):
        return f"{value:.2f}"
    if kind == "money":
        return f"{value:.2f}"
    return value


class Links:
    """Builds the drill-down URL of a figure: the page's filters plus what the figure counts."""

    def __init__(self, filters: dict):
        self.filters = filters
        self.base = reverse("metrics:drilldown")

    def __call__(self, drill: str, **extra) -> str:
        params = {**self.filters, "drill": drill}
        params.update({key: "" if value is None else value for key, value in extra.items()})
        return f"{self.base}?{urlencode(params)}"


SUMMARY_COLUMNS = [
    Column("won_count", "Won", "int"),
    Column("lost_count", "Lost", "int"),
    Column("win_rate", "Win rate", "pct"),
    Column("mttc_days", "MTTC days", "days"),
    Column("mttc_median_days", "Median", "days"),
    Column("mttc_p90_days", "p90", "days"),
    Column("mttl_days", "MTTL days", "days"),
    Column("avg_won_amount", "Avg deal", "money"),
    Column("won_amount_total", "Won amount", "money"),
    Column("open_count", "Open", "int"),
    Column("pipeline_amount", "Pipeline", "money"),
    Column("weighted_pipeline_amount", "Weighted pipeline", "money"),
]


def form_for(*, user, data) -> DashboardForm:
    """The dashboard's filter form over `data` (query parameters), with the choices the user
    has and, without a process chosen, the one with most of their deals."""
    processes = list(selectors.dashboard_processes())
    teams = list(selectors.dashboard_teams(user))
    default = None
    if not data.get("process"):
        busiest = selectors.busiest_process(user=user)
        default = busiest.pk if busiest else None
    return DashboardForm(data, processes=processes, teams=teams, default_process=default)


PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


def serves_stale() -> bool:
    """Serve the last figures at once after a change while a worker computes the new ones:
    only where a worker runs (with tasks run in-process the refresh would hold up the page)
    and shares the cache with the web processes (else the page would never see its work)."""
    shared_cache = settings.CACHES["default"]["BACKEND"] not in PROCESS_LOCAL_CACHES
    return (
        bool(settings.METRICS_SERVE_STALE)
        and not settings.CELERY_TASK_ALWAYS_EAGER
        and shared_cache
    )


def refresh_later(*, scope: Scope, user, query: dict, today: date) -> None:
    """Queue the computation of this dashboard's figures, once per scope at a time."""
    if not refresh_claim(scope.key):
        return
    from metrics.tasks import dashboard_refresh

    def send():
        try:
            dashboard_refresh.delay(user.pk, query, today.isoformat(), scope.key)
        except Exception:  # the broker is down: the page still shows the last figures
            refresh_release(scope.key)
            logger.exception("Could not queue the dashboard refresh for scope %s", scope.key)

    transaction.on_commit(send)


def refresh(*, user_id: int, query: dict, today: date, scope_key: str) -> bool:
    """Compute and cache the dashboard of these filters for this user (a worker's job); False
    when the user or the filters are no longer valid."""
    try:
        user = get_user_model().objects.get(pk=user_id, is_active=True)
        form = form_for(user=user, data=query)
        if not form.is_valid():
            return False
        scope = selectors.metric_scope(user=user, params=form.metric_params(today))
        build(scope=scope, filters=form.query(), today=today)
        return True
    except get_user_model().DoesNotExist:
        return False
    finally:
        refresh_release(scope_key)


def _quota_day(scope: Scope, today: date) -> date:
    """Quotas are shown for the periods including today, or the period's last day before it."""
    if scope.period.end is None:
        return today
    return min(today, timezone.localdate(scope.period.end - timedelta(microseconds=1)))


def _figures(scope: Scope, stages: list, quota_day: date) -> dict:
    """Every selector the dashboard reads, run side by side where possible (`metrics.lanes`);
    the slowest first."""
    jobs = {
        "sets": lambda: selectors.summary_sets(scope=scope, group_bys=("month", *GROUP_TABLES)),
    }
    if stages:
        # Time in stage and the dwell shift read the clock themselves, so their cached results
        # stay valid for the day.
        jobs["time"] = lambda: selectors.time_in_stage(scope=scope, stages=stages)
        jobs["funnel"] = lambda: selectors.funnel(scope=scope, stages=stages)
    jobs["consistency"] = lambda: selectors.consistency(scope=scope, stages=stages or None)
    if stages:
        jobs["dwell"] = lambda: selectors.dwell_shift(scope=scope, stages=stages)
    jobs |= {
        "compliance": lambda: selectors.compliance_outcomes(scope=scope),
        "pipeline": lambda: selectors.pipeline_by_stage(scope=scope),
        "esat": lambda: selectors.esat(scope=scope),
        "history": lambda: selectors.pipeline_history(
            user=scope.user, process=scope.process, team=scope.team, period=scope.period
        ),
        "quotas": lambda: selectors.quota_attainment(user=scope.user, on=quota_day),
    }
    if lanes.side_by_side():
        prime(scope)  # the lanes share the scope's cache generation: read it once, here
    return lanes.run(jobs)


def build(*, scope: Scope, filters: dict, today: date) -> Dashboard:
    links = Links(filters)
    stages = selectors.process_stages(scope.process) if scope.process is not None else []
    quota_day = _quota_day(scope, today)
    figures = _figures(scope, stages, quota_day)
    summary, grouped = figures["sets"]
    board = Dashboard(scope=scope, summary=summary, stages=stages)
    board.links = {name: links(name) for name in ("won", "lost", "open", "qualified_out", "closed")}
    board.add(_summary_table(summary))
    board.add(*_trend(grouped["month"], links))
    if stages:
        board.add(*_funnel(figures["funnel"], links))
        board.add(*_time_in_stage(figures["time"], links))
        board.dwell = figures["dwell"]
        board.add(*_dwell_shift(board.dwell, links))
    board.add(*_pipeline(figures["pipeline"], links))
    board.add(*_pipeline_history(figures["history"]))
    board.esat = figures["esat"]
    board.add(_esat(board.esat))
    board.consistency = figures["consistency"]
    board.compliance = figures["compliance"]
    board.add(*_consistency(board.consistency, links))
    board.add(_compliance(board.compliance, links))
    board.add(*_quotas(figures["quotas"], links, quota_day))
    for name in GROUP_TABLES:
        board.add(_grouped(name, grouped[name], links))
    return board


def _summary_table(summary: dict) -> Table:
    rows = [
        {"metric": "Won", "value": summary["won_count"], "kind": "int"},
        {"metric": "Lost", "value": summary["lost_count"], "kind": "int"},
        {"metric": "Qualified out", "value": summary["qualified_out_count"], "kind": "int"},
        {"metric": "Open", "value": summary["open_count"], "kind": "int"},
        {"metric": "Win rate", "value": summary["win_rate"], "kind": "pct"},
        {"metric": "Qualified-out rate", "value": summary["qualified_out_rate"], "kind": "pct"},
        {"metric": "MTTC mean (days)", "value": summary["mttc_days"], "kind": "days"},
        {"metric": "MTTC median (days)", "value": summary["mttc_median_days"], "kind": "days"},
        {"metric": "MTTC p90 (days)", "value": summary["mttc_p90_days"], "kind": "days"},
        {"metric": "MTTL mean (days)", "value": summary["mttl_days"], "kind": "days"},
        {
            "metric": "Cycle, won and lost (days)",
            "value": summary["cycle_days_closed_mean"],
            "kind": "days",
        },
        {"metric": "Average won deal", "value": summary["avg_won_amount"], "kind": "money"},
        {"metric": "Won amount", "value": summary["won_amount_total"], "kind": "money"},
        {"metric": "Pipeline", "value": summary["pipeline_amount"], "kind": "money"},
        {
            "metric": "Weighted pipeline",
            "value": summary["weighted_pipeline_amount"],
            "kind": "money",
        },
    ]
    # The CSV wants one column type; values are written raw, rounded by kind.
    for row in rows:
        row["value"] = _csv_value(row["value"], row.pop("kind"))
    return Table("summary", "Summary", [Column("metric", "Metric"), Column("value", "Value")], rows)


def _trend(by_month: list[dict], links: Links) -> tuple[Table, Chart]:
    months = [group for group in by_month if group["key"]]
    rows = []
    for group in months:
        rows.append(
            {
                "month": group["key"],
                **{column.key: group[column.key] for column in SUMMARY_COLUMNS[:7]},
                "links": {
                    "won_count": links("won", group_by="month", key=group["key"]),
                    "lost_count": links("lost", group_by="month", key=group["key"]),
                },
            }
        )
    table = Table(
        "mttc_trend",
        "MTTC by month closed",
        [Column("month", "Month"), *SUMMARY_COLUMNS[:7]],
        rows,
    )
    won_links = [links("won", group_by="month", key=row["month"]) for row in rows]
    chart = Chart(
        "mttc_trend",
        "MTTC by month (deals won that month)",
        "bar",
        [row["month"] for row in rows],
        [
            {"label": "Mean", "data": [row["mttc_days"] for row in rows], "links": won_links},
            {
                "label": "Median",
                "data": [row["mttc_median_days"] for row in rows],
                "links": won_links,
            },
            {
                "label": "p90",
                "data": [row["mttc_p90_days"] for row in rows],
                "links": won_links,
                "type": "line",
            },
        ],
        table="mttc_trend",
        y_title="days",
    )
    return table, chart


def _funnel(flows, links: Links) -> tuple[Table, Chart]:
    rows = []
    for flow in flows:
        stage = flow.stage
        is_open = stage.kind == "open"
        rows.append(
            {
                "stage": stage.name,
                "entered": flow.entered,
                "converted": flow.converted if is_open else None,
                "conversion_rate": flow.conversion_rate if is_open else None,
                "links": {
                    "entered": links("stage_entered", stage=stage.pk) if is_open else links("won"),
                    "converted": links("stage_converted", stage=stage.pk) if is_open else None,
                },
            }
        )
    table = Table(
        "funnel",
        "Funnel: reached or passed",
        [
            Column("stage", "Stage"),
            Column("entered", "Entered", "int"),
            Column("converted", "Moved past", "int"),
            Column("conversion_rate", "Conversion", "pct"),
        ],
        rows,
        note="Of the deals that entered a stage in the period, the share that later entered any "
        "later open stage or won.",
    )
    chart = Chart(
        "funnel",
        "Funnel (deals entering each stage in the period)",
        "bar",
        [row["stage"] for row in rows],
        [
            {
                "label": "Entered",
                "data": [row["entered"] for row in rows],
                "links": [row["links"]["entered"] for row in rows],
            },
            {
                "label": "Moved past it",
                "data": [row["converted"] for row in rows],
                "links": [row["links"]["converted"] for row in rows],
            },
        ],
        table="funnel",
        horizontal=True,
        y_title="deals",
    )
    return table, chart


def _time_in_stage(flows, links: Links) -> tuple[Table, Chart]:
    rows = []
    for flow in flows:
        if flow.stage.kind != "open":
            continue
        stage = flow.stage
        rows.append(
            {
                "stage": stage.name,
                "completed_visits": flow.completed_visits,
                "mean_days": flow.mean_days,
                "median_days": flow.median_days,
                "p90_days": flow.p90_days,
                "target_days": stage.target_days,
                "open_visits": flow.open_visits,
                "open_age_mean_days": flow.open_age_mean_days,
                "open_age_max_days": flow.open_age_max_days,
                "open_over_target": flow.open_over_target,
                "links": {
                    "completed_visits": links("stage_completed", stage=stage.pk),
                    "open_visits": links("stage_open", stage=stage.pk),
                },
            }
        )
    table = Table(
        "time_in_stage",
        "Time in stage",
        [
            Column("stage", "Stage"),
            Column("completed_visits", "Visits ended", "int"),
            Column("mean_days", "Mean days", "days"),
            Column("median_days", "Median", "days"),
            Column("p90_days", "p90", "days"),
            Column("target_days", "Target", "int"),
            Column("open_visits", "Open now", "int"),
            Column("open_age_mean_days", "Mean age", "days"),
            Column("open_age_max_days", "Oldest", "days"),
            Column("open_over_target", "Past target", "int"),
        ],
        rows,
        note="A visit lasts from entering a stage to the deal's next move. Open visits are the "
        "deals sitting in the stage now, whatever the period.",
    )
    completed = [row["links"]["completed_visits"] for row in rows]
    chart = Chart(
        "time_in_stage",
        "Time in stage (days)",
        "bar",
        [row["stage"] for row in rows],
        [
            {"label": "Median", "data": [row["median_days"] for row in rows], "links": completed},
            {"label": "p90", "data": [row["p90_days"] for row in rows], "links": completed},
            {
                "label": "Open now: mean age",
                "data": [row["open_age_mean_days"] for row in rows],
                "links": [row["links"]["open_visits"] for row in rows],
            },
        ],
        table="time_in_stage",
        y_title="days",
    )
    return table, chart


def _dwell_shift(report: selectors.DwellShiftReport, links: Links) -> tuple[Table, Chart]:
    recent_filters = {
        "period": "custom",
        "start": report.recent.start.date().isoformat(),
        "end": report.recent.end.date().isoformat(),
    }
    rows = []
    for shift in report.stages:
        rows.append(
            {
                "stage": shift.stage.name,
                "baseline_days": shift.baseline_days,
                "recent_days": shift.recent_days,
                "change_days": shift.change_days,
                "change_pct": shift.change_pct,
                "share_of_mttc_change": report.share_of_mttc_change(shift),
                "links": {
                    "recent_days": links("stage_completed", stage=shift.stage.pk, **recent_filters)
                },
            }
        )
    table = Table(
        "dwell_shift",
        "Dwell per won deal: last 90 days against the 180 before",
        [
            Column("stage", "Stage"),
            Column("baseline_days", "Before: days per won deal", "days"),
            Column("recent_days", "Last 90 days", "days"),
            Column("change_days", "Change (days)", "days"),
            Column("change_pct", "Against own baseline", "pct"),
            Column("share_of_mttc_change", "Share of MTTC change", "pct"),
        ],
        rows,
    )
    chart = Chart(
        "dwell_shift",
        "Change of days per won deal in each stage",
        "bar",
        [row["stage"] for row in rows],
        [
            {
                "label": "Change (days)",
                "data": [row["change_days"] for row in rows],
                "links": [row["links"]["recent_days"] for row in rows],
            }
        ],
        table="dwell_shift",
        y_title="days",
    )
    return table, chart


def _pipeline(stages: list[dict], links: Links) -> tuple[Table, Chart]:
    multiple = len({row["process"] for row in stages}) > 1
    rows = [
        {
            "stage": f"{row['process']}: {row['name']}" if multiple else row["name"],
            "probability": row["probability"],
            "open_count": row["open_count"],
            "amount": row["amount"],
            "weighted_amount": row["weighted_amount"],
            "links": {"open_count": links("stage_open", stage=row["stage_id"])},
        }
        for row in stages
    ]
    table = Table(
        "pipeline",
        "Open pipeline by stage",
        [
            Column("stage", "Stage"),
            Column("probability", "Prob. %", "int"),
            Column("open_count", "Open deals", "int"),
            Column("amount", "Amount", "money"),
            Column("weighted_amount", "Weighted", "money"),
        ],
        rows,
    )
    open_links = [row["links"]["open_count"] for row in rows]
    chart = Chart(
        "pipeline",
        "Open pipeline by stage",
        "bar",
        [row["stage"] for row in rows],
        [
            {"label": "Amount", "data": [row["amount"] for row in rows], "links": open_links},
            {
                "label": "Weighted",
                "data": [row["weighted_amount"] for row in rows],
                "links": open_links,
            },
        ],
        table="pipeline",
        y_title="amount",
    )
    return table, chart


def _pipeline_history(history: list[dict]) -> tuple[Table, Chart]:
    rows = [{**row, "day": row["day"].isoformat()} for row in history]
    table = Table(
        "pipeline_history",
        "Pipeline history (daily snapshots)",
        [
            Column("day", "Day"),
            Column("open_count", "Open deals", "int"),
            Column("pipeline_amount", "Pipeline", "money"),
            Column("weighted_pipeline_amount", "Weighted", "money"),
        ],
        rows,
        note="Snapshots are taken daily per process, stage and team; the use case and segment "
        "filters do not apply to them.",
    )
    chart = Chart(
        "pipeline_history",
        "Pipeline history",
        "line",
        [row["day"] for row in rows],
        [
            {"label": "Pipeline", "data": [row["pipeline_amount"] for row in rows]},
            {"label": "Weighted", "data": [row["weighted_pipeline_amount"] for row in rows]},
        ],
        table="pipeline_history",
        y_title="amount",
    )
    return table, chart


def _esat(esat: dict) -> Table:
    rows = [
        {
            "stage": row["name"],
            "answers": row["answers"],
            "mean_score": row["mean_score"],
            "satisfied_share": row["satisfied_share"],
        }
        for row in esat["stages"]
    ]
    rows.append(
        {
            "stage": "All stages",
            "is_total": True,
            "answers": esat["answers"],
            "mean_score": esat["mean_score"],
            "satisfied_share": esat["satisfied_share"],
        }
    )
    return Table(
        "esat",
        "ESAT by stage",
        [
            Column("stage", "Stage"),
            Column("answers", "Answers", "int"),
            Column("mean_score", "Mean score (1–5)", "score"),
            Column("satisfied_share", "Share of 4–5", "pct"),
        ],
        rows,
    )


def _consistency(consistency: dict, links: Links) -> tuple[Table, Chart]:
    rows = [
        {
            "stage": row["name"],
            "exits": row["exits"],
            "compliant": row["compliant"],
            "overridden": row["exits"] - row["compliant"],
            "rate": row["rate"],
            "links": {
                "exits": links("stage_completed", stage=row["stage_id"]),
                "overridden": links("stage_overridden", stage=row["stage_id"]),
            },
        }
        for row in consistency["stages"]
    ]
    rows.append(
        {
            "stage": "All stages",
            "is_total": True,
            "exits": consistency["exits"],
            "compliant": consistency["compliant"],
            "overridden": consistency["exits"] - consistency["compliant"],
            "rate": consistency["rate"],
        }
    )
    table = Table(
        "consistency",
        "Consistency: gated exits with every required item done",
        [
            Column("stage", "Stage left"),
            Column("exits", "Exits", "int"),
            Column("compliant", "Items done", "int"),
            Column("overridden", "Overridden", "int"),
            Column("rate", "Rate", "pct"),
        ],
        rows,
    )
    per_stage = rows[:-1]
    chart = Chart(
        "consistency",
        "Consistency by stage left",
        "bar",
        [row["stage"] for row in per_stage],
        [
            {
                "label": "Consistency",
                "data": [row["rate"] for row in per_stage],
                "links": [row["links"]["exits"] for row in per_stage],
            }
        ],
        table="consistency",
        percent=True,
    )
    return table, chart


def _compliance(compliance: dict, links: Links) -> Table:
    labels = {"compliant": "Every gate met", "overridden": "A gate overridden"}
    rows = [
        {
            "deals": labels[name],
            "won": figures["won"],
            "lost": figures["lost"],
            "win_rate": figures["win_rate"],
            "mttc_days": figures["mttc_days"],
            "links": {"won": links(name), "lost": links(name)},
        }
        for name, figures in compliance.items()
    ]
    return Table(
        "compliance",
        "Compliant against overridden deals (closed in the period)",
        [
            Column("deals", "Deals"),
            Column("won", "Won", "int"),
            Column("lost", "Lost", "int"),
            Column("win_rate", "Win rate", "pct"),
            Column("mttc_days", "MTTC (days)", "days"),
        ],
        rows,
    )


def _quotas(quotas: list[dict], links: Links, on: date) -> tuple[Table, Chart]:
    rows = [
        {
            "name": row["name"],
            "kind": row["kind_label"],
            "period": f"{row['period_start'].isoformat()} – {row['period_end'].isoformat()}",
            "target": row["target"],
            "achieved": row["achieved"],
            "attainment": row["attainment"],
            "is_money": row["kind"] == "won_amount",
            "links": {"achieved": links("quota", key=row["quota_id"])},
        }
        for row in quotas
    ]
    table = Table(
        "quotas",
        f"Quota attainment (periods including {on.isoformat()})",
        [
            Column("name", "Person"),
            Column("kind", "Quota"),
            Column("period", "Period"),
            Column("target", "Target", "number"),
            Column("achieved", "Achieved", "number"),
            Column("attainment", "Attainment", "pct"),
        ],
        rows,
        note="Won amount counts deals won in the quota period where the person is owner or "
        "account executive; qualified opportunities count deals whose clock started then.",
    )
    chart = Chart(
        "quotas",
        "Quota attainment",
        "bar",
        [f"{row['name']} ({row['kind']})" for row in rows],
        [
            {
                "label": "Attainment",
                "data": [row["attainment"] for row in rows],
                "links": [row["links"]["achieved"] for row in rows],
            }
        ],
        table="quotas",
        horizontal=True,
        percent=True,
    )
    return table, chart


def _grouped(name: str, groups: list[dict], links: Links) -> Table:
    grouping = GROUPINGS[name]

    def key_param(key):
        return "" if key is None else key

    rows = [
        {
            "label": group["label"],
            **{column.key: group[column.key] for column in SUMMARY_COLUMNS},
            "links": {
                "won_count": links("won", group_by=name, key=key_param(group["key"])),
                "lost_count": links("lost", group_by=name, key=key_param(group["key"])),
                "open_count": links("open", group_by=name, key=key_param(group["key"])),
            },
        }
        for group in groups
    ]
    columns = [
        Column(column.key, column.title, column.kind, csv_only=column.key == "mttc_p90_days")
        for column in SUMMARY_COLUMNS
    ]
    return Table(
        f"by_{name}",
        f"By {grouping.title.lower()}",
        [Column("label", grouping.title), *columns],
        rows,
    )
