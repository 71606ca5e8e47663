"""Every metric of ARCHITECTURE section 4, defined once and used by the API, the dashboards, the
pilots and the tests.

All figures are computed by the database: conditional aggregates over opportunities, window
functions over stage transitions (a visit lasts until the opportunity's next transition), and
`percentile_cont` on PostgreSQL. SQLite has no ordered-set aggregate, so there the percentiles
come from the one fetched column of durations, interpolated by numpy the same way (linear
between the closest ranks); nothing ever iterates over Opportunity objects.

Durations are days as decimals. A `Period` is half-open: start inclusive, end exclusive, either
side optional.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.core.cache import cache as django_cache
from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    Case,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
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
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from epos.lib.errors import InvalidInput
from epos.lib.ids import parse_id
from metrics.cache import cache_seconds, cached, digest
from metrics.expressions import PercentilesCont, supports_percentile_aggregate
from metrics.filters import MetricsFilter
from metrics.models import MetricSnapshot, Pilot, Quota
from opportunities import permissions as opportunity_permissions
from opportunities.measures import DaysBetween, mttc_duration, ratio, visit_length
from opportunities.models import Account, EsatResponse, Opportunity, StageTransition, Team
from opportunities.selectors import opportunity_list
from stages import rules
from stages.models import Process, Stage

WON, LOST, QUALIFIED_OUT, OPEN = (
    Opportunity.Outcome.WON,
    Opportunity.Outcome.LOST,
    Opportunity.Outcome.QUALIFIED_OUT,
    Opportunity.Outcome.OPEN,
)
PERCENTILES = (0.5, 0.9)
AMOUNT = DecimalField(max_digits=20, decimal_places=4)

SUMMARY_FIELDS = (
    "won_count",
    "lost_count",
    "open_count",
    "win_rate",
    "mttc_days",
    "mttc_median_days",
    "mttc_p90_days",
    "mttl_days",
    "cycle_days_closed_mean",
    "avg_won_amount",
    "won_amount_total",
    "pipeline_amount",
    "weighted_pipeline_amount",
)
EXTRA_SUMMARY_FIELDS = (
    "qualified_out_count",
    "qualified_out_rate",
    "mttc_count",
    "mttl_count",
    "cycle_closed_count",
)


# --- scope: which opportunities, which period ------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: datetime | None = None
    end: datetime | None = None

    def q(self, field_name: str) -> Q:
        condition = Q()
        if self.start is not None:
            condition &= Q(**{f"{field_name}__gte": self.start})
        if self.end is not None:
            condition &= Q(**{f"{field_name}__lt": self.end})
        return condition

    @property
    def bounded(self) -> bool:
        return self.start is not None or self.end is not None

    @property
    def last_day(self) -> date | None:
        """The last day inside the period (its end is exclusive)."""
        if self.end is None:
            return None
        return timezone.localdate(self.end - timedelta(microseconds=1))

    @classmethod
    def of_dates(cls, first: date | None, last: date | None) -> Period:
        """Whole days `first` to `last`, both included, in the current time zone."""

        def midnight(day):
            return timezone.make_aware(datetime.combine(day, time.min))

        # The last day of the calendar has no next midnight: such a period has no end.
        return cls(
            start=midnight(first) if first else None,
            end=midnight(last + timedelta(days=1)) if last and last < date.max else None,
        )


@dataclass(frozen=True)
class Scope:
    """The opportunities a metric looks at (visible to the user, filtered) and the period."""

    user: object
    opportunities: QuerySet
    period: Period = field(default_factory=Period)
    process: Process | None = None
    team: Team | None = None
    # Names the scope in cache keys (filters, period, and whose visibility); None: no caching.
    key: str | None = None
    # False only when `opportunities` is every deal of `process` (someone who sees everything,
    # no filter but the process and the period). Stage metrics then read the transitions into
    # the process's stages alone: a deal never changes process, so those are its deals' rows.
    narrowed: bool = True
    # May cached results of an older generation be served (metrics/cache.py)? The page that
    # allows it queues their refresh; everything else computes what is missing.
    allow_stale: bool = False
    memo: dict = field(default_factory=dict, compare=False)


def metric_scope(*, user, params: Mapping, allow_stale: bool = False) -> Scope:
    """Apply the opportunity list's visibility and filters; `closed_after/before` is the period."""
    filterset = MetricsFilter(data=params, queryset=opportunity_list(user=user))
    if not filterset.is_valid():
        raise InvalidInput(
            "Invalid filter.",
            errors={name: [str(e) for e in errs] for name, errs in filterset.errors.items()},
        )
    cleaned = filterset.form.cleaned_data
    period = Period(start=cleaned.get("closed_after"), end=cleaned.get("closed_before"))
    if period.start and period.end and period.end <= period.start:
        raise InvalidInput("The period ends before it starts.", errors={"closed_before": []})
    sees_everything = opportunity_permissions.opportunity_visibility_q(user) is None
    filters = {name: value for name, value in cleaned.items() if value not in (None, "", [])}
    whole_process = (
        sees_everything
        and "process" in filters
        and set(filters) <= {"process", "closed_after", "closed_before"}
    )
    return Scope(
        user=user,
        opportunities=filterset.qs.order_by(),
        period=period,
        process=cleaned.get("process"),
        team=cleaned.get("team"),
        key=digest(["everything" if sees_everything else f"user-{user.pk}", filters]),
        narrowed=not whole_process,
        allow_stale=allow_stale,
    )


def _ids(scope: Scope) -> QuerySet:
    return scope.opportunities.order_by().values("pk")


# --- small numeric helpers --------------------------------------------------------------------


def percentiles_of(values: Iterable[float], fractions: Sequence[float] = PERCENTILES) -> list:
    """numpy's linear interpolation (the same as percentile_cont); Nones for no values."""
    array = np.asarray(list(values), dtype=float)
    if array.size == 0:
        return [None] * len(fractions)
    return [float(v) for v in np.percentile(array, [f * 100 for f in fractions], method="linear")]


_ratio = ratio


def _money(value) -> float | None:
    return None if value is None else round(float(value), 2)


def _float(value) -> float | None:
    return None if value is None else float(value)


def _split_percentiles(value) -> tuple[float | None, float | None]:
    if not value:
        return None, None
    return _float(value[0]), _float(value[1])


# --- summary: counts, MTTC / MTTL / cycle, win rate, amounts ----------------------------------


_mttc_duration = mttc_duration


def _summary_aggregates(*, with_percentiles: bool, with_currency: bool = True) -> dict:
    """Conditional aggregates over the rows `_in_summary` keeps (open deals, deals closed in
    the period). Each figure that `_finish_summary` can derive (rates, means, the cycle over
    won and lost) is left to it, so every row feeds as few aggregates as possible: a duration
    is computed only for a won or a lost row, once."""
    clocked = Q(engaged_at__isnull=False)
    won, lost, still_open = Q(outcome=WON), Q(outcome=LOST), Q(outcome=OPEN)
    duration = _mttc_duration()
    aggregates = {
        "won": Count("pk", filter=won),
        "lost": Count("pk", filter=lost),
        "qualified_out": Count("pk", filter=Q(outcome=QUALIFIED_OUT)),
        "open": Count("pk", filter=still_open),
        "won_clocked": Count("pk", filter=won & clocked),
        "lost_clocked": Count("pk", filter=lost & clocked),
        "won_days": Sum(duration, filter=won & clocked),
        "lost_days": Sum(duration, filter=lost & clocked),
        # Average deal size divides by the won deals with an amount: unknown is not zero.
        "won_priced": Count("amount", filter=won),
        "won_amount": Sum("amount", filter=won, output_field=AMOUNT),
        "open_amount": Sum("amount", filter=still_open, output_field=AMOUNT),
        "weighted_amount": Sum(
            ExpressionWrapper(
                F("amount") * F("stage__probability") / Value(Decimal("100.0")),
                output_field=AMOUNT,
            ),
            filter=still_open,
            output_field=AMOUNT,
        ),
    }
    if with_currency:
        # Equal when every deal has the same currency; amounts are never converted.
        aggregates |= {"currency_min": Min("currency"), "currency_max": Max("currency")}
    if with_percentiles:
        aggregates["mttc_percentiles"] = PercentilesCont(
            duration, PERCENTILES, filter=won & clocked
        )
    return aggregates


def _in_summary(period: Period) -> Q:
    """The rows a summary reads: deals open now and deals closed in the period."""
    if not period.bounded:
        return Q()
    return Q(outcome=OPEN) | period.q("closed_at")


def _finish_summary(row: Mapping) -> dict:
    """The summary fields from one row of `_summary_aggregates`."""
    won, lost, qualified_out = row["won"], row["lost"], row["qualified_out"]
    won_days, lost_days = row["won_days"] or 0.0, row["lost_days"] or 0.0
    won_clocked, lost_clocked = row["won_clocked"], row["lost_clocked"]
    won_amount = row["won_amount"] or Decimal("0")
    median, p90 = _split_percentiles(row.get("mttc_percentiles"))
    low, high = row["currency_min"], row["currency_max"]
    return {
        # The deals' currency when they share one; None when there are none or several (their
        # amounts are then added as recorded, without conversion).
        "currency": low if low == high else None,
        "mixed_currencies": low != high,
        "won_count": won,
        "lost_count": lost,
        "open_count": row["open"],
        "win_rate": _ratio(won, won + lost),
        "mttc_days": _ratio(won_days, won_clocked),
        "mttc_median_days": median,
        "mttc_p90_days": p90,
        "mttl_days": _ratio(lost_days, lost_clocked),
        "cycle_days_closed_mean": _ratio(won_days + lost_days, won_clocked + lost_clocked),
        "avg_won_amount": _money(won_amount / row["won_priced"]) if row["won_priced"] else None,
        "won_amount_total": _money(won_amount),
        "pipeline_amount": _money(row["open_amount"] or 0),
        "weighted_pipeline_amount": _money(row["weighted_amount"] or 0),
        "qualified_out_count": qualified_out,
        "qualified_out_rate": _ratio(qualified_out, won + lost + qualified_out),
        "mttc_count": won_clocked,
        "mttl_count": lost_clocked,
        "cycle_closed_count": won_clocked + lost_clocked,
    }


def _won_durations(rows: QuerySet, period: Period) -> QuerySet:
    return rows.filter(Q(outcome=WON, engaged_at__isnull=False) & period.q("closed_at")).annotate(
        days=_mttc_duration()
    )


@cached("summary")
def summary(*, scope: Scope) -> dict:
    """The headline figures (ARCHITECTURE section 5's summary fields and a few more)."""
    percentiles_in_sql = supports_percentile_aggregate()
    rows = scope.opportunities.order_by().filter(_in_summary(scope.period))
    row = rows.aggregate(**_summary_aggregates(with_percentiles=percentiles_in_sql))
    if not percentiles_in_sql:
        days = _won_durations(rows, scope.period).values_list("days", flat=True)
        row["mttc_percentiles"] = percentiles_of(days)
    return _finish_summary(row)


# --- grouped summary ------------------------------------------------------------------------


def _full_name(row: Mapping, prefix: str) -> str:
    name = f"{row.get(prefix + '__first_name') or ''} {row.get(prefix + '__last_name') or ''}"
    return name.strip() or row.get(prefix + "__username") or ""


@dataclass(frozen=True)
class Grouping:
    name: str
    title: str
    key: object  # a field path or an expression, annotated as "group_key"
    label_fields: tuple[str, ...] = ()
    choices: Mapping | None = None
    empty_label: str = "—"
    # Groupings of one family take few values together (an owner has one team; products,
    # use cases, segments and sources are short lists): `summary_sets` aggregates the deals
    # once per family, on all its keys, and adds the rows up per grouping. Empty: its own.
    family: str = ""

    def expression(self):
        return F(self.key) if isinstance(self.key, str) else self.key

    def label(self, row: Mapping) -> str:
        key = row["group_key"]
        if key in (None, ""):
            return self.empty_label
        if self.name == "owner":
            return _full_name(row, "owner")
        if self.name == "team":
            return row["team__name"]
        if self.name == "process":
            return f"{row['process__name']} v{row['process__version']}"
        if self.name == "month":
            return key.strftime("%Y-%m")
        if self.choices is not None:
            return str(self.choices.get(key, key))
        return str(key)

    def output_key(self, key):
        if self.name == "month" and key is not None:
            return key.strftime("%Y-%m")
        return key


GROUPINGS: dict[str, Grouping] = {
    grouping.name: grouping
    for grouping in (
        Grouping(
            "owner",
            "Owner",
            "owner_id",
            ("owner__first_name", "owner__last_name", "owner__username"),
            empty_label="No owner",
            family="people",
        ),
        Grouping(
            "team", "Team", "team_id", ("team__name",), empty_label="No team", family="people"
        ),
        Grouping("product", "Product", "product", empty_label="No product", family="kind"),
        Grouping(
            "use_case",
            "Use case",
            "use_case",
            choices=dict(Opportunity.UseCase.choices),
            empty_label="No use case",
            family="kind",
        ),
        Grouping(
            "segment",
            "Segment",
            "account__segment",
            choices=dict(Account.Segment.choices),
            empty_label="No segment",
            family="kind",
        ),
        Grouping(
            "source",
            "Source",
            "source",
            choices=dict(Opportunity.Source.choices),
            empty_label="No source",
            family="kind",
        ),
        Grouping(
            "process",
            "Process",
            "process_id",
            ("process__name", "process__version"),
            empty_label="",
        ),
        Grouping("month", "Month closed", TruncMonth("closed_at"), empty_label="Open"),
    )
}
API_GROUPINGS = ("owner", "team", "product", "use_case", "segment", "month")


@cached("summary_by")
def summary_by(*, scope: Scope, group_by: str) -> list[dict]:
    """The summary per group, one grouped query (plus the durations on SQLite), any group count.

    Groups are owners, teams, products, use cases, segments, sources, processes or months of
    `closed_at` (open deals then form the group without a month).
    """
    grouping = GROUPINGS.get(group_by)
    if grouping is None:
        raise InvalidInput(f"Unknown grouping {group_by!r}.", errors={"group_by": [group_by]})
    rows = scope.opportunities.order_by().filter(_in_summary(scope.period))
    # Group by the key alone, without joining the names: an id hashes faster than names, and
    # the few labels are looked up afterwards. Each key's rows are split by currency and added
    # up here (MIN/MAX of the currency in every group compared text twice per deal). The
    # percentiles come from a second statement over the won deals only: in the first, every
    # deal would go through their sort.
    figures: dict = {}
    for row in (
        rows.annotate(group_key=grouping.expression(), x_currency=F("currency"))
        .values("group_key", "x_currency")
        .annotate(**_summary_aggregates(with_percentiles=False, with_currency=False))
        .order_by()
    ):
        figures[row["group_key"]] = _add_figures(figures.get(row["group_key"]), row)
    grouped = [{"group_key": key, **sums} for key, sums in figures.items()]
    if grouping.label_fields:
        labels = _group_labels({grouping.name: [row["group_key"] for row in grouped]})
        for row in grouped:
            row.update(labels.get((grouping.name, row["group_key"]), {}))
    won = _won_durations(rows, scope.period).annotate(group_key=grouping.expression())
    if supports_percentile_aggregate():
        by_key = dict(
            won.values("group_key")
            .annotate(percentiles=PercentilesCont(F("days"), PERCENTILES))
            .order_by()
            .values_list("group_key", "percentiles")
        )
    else:
        durations = won.values_list("group_key", "days").order_by("group_key")
        by_key = {
            key: percentiles_of(days for _, days in values)
            for key, values in itertools.groupby(durations, key=lambda pair: pair[0])
        }
    for row in grouped:
        row["mttc_percentiles"] = by_key.get(row["group_key"])
    groups = [
        {
            "key": grouping.output_key(row["group_key"]),
            "label": grouping.label(row),
            **_finish_summary(row),
        }
        for row in grouped
    ]
    return _sort_groups(grouping, groups)


def _sort_groups(grouping: Grouping, groups: list[dict]) -> list[dict]:
    if grouping.name == "month":
        groups.sort(key=lambda group: (group["key"] is None, group["key"] or ""))
    else:
        groups.sort(key=lambda group: (group["key"] in (None, ""), group["label"].lower()))
    return groups


@cached("summary_sets")
def summary_sets(*, scope: Scope, group_bys: Sequence[str]) -> tuple[dict, dict[str, list]]:
    """The summary and `summary_by` for several groupings at once: (summary, {name: groups}).

    On PostgreSQL one scan serves them all through GROUPING SETS, where separate queries would
    scan the deals once per grouping (the dashboard shows seven). Elsewhere it falls back to
    `summary` and `summary_by`. Both read the same rows and finish them with the same code.
    """
    for name in group_bys:
        if name not in GROUPINGS:
            raise InvalidInput(f"Unknown grouping {name!r}.", errors={"group_by": [name]})
    if not supports_percentile_aggregate():
        return summary(scope=scope), {
            name: summary_by(scope=scope, group_by=name) for name in group_bys
        }
    return _summary_sets_postgresql(scope, list(group_bys))


def _group_labels(keys: dict[str, list]) -> dict[tuple[str, object], dict]:
    """The label fields of owner and team groups, one query each: {(grouping, key): fields}."""
    labels = {}
    owners = [key for key in keys.get("owner", ()) if key is not None]
    if owners:
        for user in (
            get_user_model()
            .objects.filter(pk__in=owners)
            .values("pk", "first_name", "last_name", "username")
        ):
            labels[("owner", user["pk"])] = {
                f"owner__{field}": user[field] for field in ("first_name", "last_name", "username")
            }
    teams = [key for key in keys.get("team", ()) if key is not None]
    if teams:
        for team in Team.objects.filter(pk__in=teams).values("pk", "name"):
            labels[("team", team["pk"])] = {"team__name": team["name"]}
    processes = [key for key in keys.get("process", ()) if key is not None]
    if processes:
        for process in Process.objects.filter(pk__in=processes).values("pk", "name", "version"):
            labels[("process", process["pk"])] = {
                "process__name": process["name"],
                "process__version": process["version"],
            }
    return labels


def _grouping_sets_rows(
    inner: QuerySet, keys: list[str], sets: list[tuple[str, ...]], aggregates: dict[str, str]
) -> list:
    """`aggregates` over the rows of `inner` for each of `sets` (tuples of its columns);
    `grouping_id` is GROUPING(keys): one bit per key, the first key's the highest, set for
    each key the row is NOT grouped by."""
    inner_sql, params = inner.query.sql_with_params()
    columns = list(dict.fromkeys(column for grouping_set in sets for column in grouping_set))
    select = [
        f"GROUPING({', '.join(keys)}) AS grouping_id",
        *columns,
        *(f"{sql} AS {alias}" for alias, sql in aggregates.items()),
    ]
    listed = ", ".join(f"({', '.join(grouping_set)})" for grouping_set in sets)
    sql = (
        f"SELECT {', '.join(select)} FROM ({inner_sql}) AS deals "  # noqa: S608
        f"GROUP BY GROUPING SETS ({listed})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def _grouping_id(keys: list[str], grouped_by: Iterable[str]) -> int:
    everything = (1 << len(keys)) - 1
    return everything & ~sum(1 << (len(keys) - 1 - keys.index(key)) for key in grouped_by)


# The additive figures of `_summary_aggregates`, and how an empty set gives them.
_ADDITIVE = {
    "won": 0, "lost": 0, "qualified_out": 0, "open": 0, "won_clocked": 0, "lost_clocked": 0,
    "won_priced": 0,
    "won_days": None, "lost_days": None, "won_amount": None, "open_amount": None,
    "weighted_amount": None,
}  # fmt: skip


def _no_figures() -> dict:
    return {**_ADDITIVE, "currency_min": None, "currency_max": None}


def _add_figures(into: dict | None, row: Mapping) -> dict:
    """`into` plus one row of additive figures and its currency (`x_currency`), as the
    aggregates over both rows' deals would give them (a SUM of nothing is NULL)."""
    if into is None:
        into = _no_figures()
    for name in _ADDITIVE:
        if row[name] is not None:
            into[name] = row[name] if into[name] is None else into[name] + row[name]
    currency = row["x_currency"]
    if currency is not None:
        low, high = into["currency_min"], into["currency_max"]
        into["currency_min"] = currency if low is None else min(low, currency)
        into["currency_max"] = currency if high is None else max(high, currency)
    return into


def _summary_sets_postgresql(scope: Scope, names: list[str]) -> tuple[dict, dict[str, list]]:
    """Two statements.

    The additive figures come from one pass over the deals that hashes each into a few sets:
    one per family of groupings (owner and team; product, use case, segment and source), on
    the family's keys together and the currency, added up per grouping here. A set per
    grouping, with MIN/MAX(currency) in each, cost twice as much: every set is a hash probe
    and a dozen aggregates per deal.

    The MTTC percentiles cannot be added up: an ordered-set aggregate, one sort per grouping,
    over the won deals with a clock only. Computed with the rest, all the deals went through
    every sort.
    """
    rows = scope.opportunities.order_by().filter(_in_summary(scope.period))
    keys = {f"g_{name}": GROUPINGS[name].expression() for name in names}
    key_list = list(keys)
    inner = rows.annotate(
        **keys,
        x_outcome=F("outcome"),
        x_clocked=ExpressionWrapper(Q(engaged_at__isnull=False), output_field=BooleanField()),
        x_amount=F("amount"),
        x_currency=F("currency"),
        x_days=_mttc_duration(),
        x_weighted=ExpressionWrapper(
            F("amount") * F("stage__probability") / Value(Decimal("100.0")), output_field=AMOUNT
        ),
    ).values(*keys, "x_outcome", "x_clocked", "x_amount", "x_currency", "x_days", "x_weighted")
    families: dict[str, list[str]] = {}
    for name in names:
        families.setdefault(GROUPINGS[name].family or name, []).append(name)
    family_sets = {
        _grouping_id(key_list, [f"g_{name}" for name in members]): members
        for members in families.values()
    } or {_grouping_id(key_list, []): []}
    # The literals below are this module's own constants, never user input.
    won, lost = f"x_outcome = '{WON}'", f"x_outcome = '{LOST}'"
    still_open = f"x_outcome = '{OPEN}'"
    additive = _grouping_sets_rows(
        inner,
        key_list,
        [(*(f"g_{name}" for name in members), "x_currency") for members in family_sets.values()],
        {
            "won": f"COUNT(*) FILTER (WHERE {won})",
            "lost": f"COUNT(*) FILTER (WHERE {lost})",
            "qualified_out": f"COUNT(*) FILTER (WHERE x_outcome = '{QUALIFIED_OUT}')",
            "open": f"COUNT(*) FILTER (WHERE {still_open})",
            "won_clocked": f"COUNT(*) FILTER (WHERE {won} AND x_clocked)",
            "lost_clocked": f"COUNT(*) FILTER (WHERE {lost} AND x_clocked)",
            "won_days": f"SUM(x_days) FILTER (WHERE {won} AND x_clocked)",
            "lost_days": f"SUM(x_days) FILTER (WHERE {lost} AND x_clocked)",
            "won_priced": f"COUNT(x_amount) FILTER (WHERE {won})",
            "won_amount": f"SUM(x_amount) FILTER (WHERE {won})",
            "open_amount": f"SUM(x_amount) FILTER (WHERE {still_open})",
            "weighted_amount": f"SUM(x_weighted) FILTER (WHERE {still_open})",
        },
    )
    # Every deal is in one row of each family's set: the first family's rows add up to all.
    overall = None
    figures: dict[str, dict] = {name: {} for name in names}
    first = next(iter(family_sets))
    for row in additive:
        if row["grouping_id"] == first:
            overall = _add_figures(overall, row)
        for name in family_sets[row["grouping_id"]]:
            key = row[f"g_{name}"]
            figures[name][key] = _add_figures(figures[name].get(key), row)
    overall = overall or _no_figures()  # no deal, hence no row at all

    fractions = ", ".join(repr(float(fraction)) for fraction in PERCENTILES)
    durations = (
        rows.filter(outcome=WON, engaged_at__isnull=False)
        .annotate(**keys, x_days=_mttc_duration())
        .values(*keys, "x_days")
    )
    percentiles = {
        (row["grouping_id"], *(row[key] for key in key_list)): row["mttc_percentiles"]
        for row in _grouping_sets_rows(
            durations,
            key_list,
            [(), *((key,) for key in key_list)],
            {
                "mttc_percentiles": f"percentile_cont(ARRAY[{fractions}]::double precision[]) "
                "WITHIN GROUP (ORDER BY x_days)"
            },
        )
    }
    everything = _grouping_id(key_list, [])
    overall["mttc_percentiles"] = percentiles.get((everything, *(None for _ in key_list)))

    # Names are looked up afterwards: carried through the sorts, they would widen every row.
    labels = _group_labels({name: list(figures[name]) for name in names})
    groups: dict[str, list] = {}
    for name in names:
        grouping = GROUPINGS[name]
        own = _grouping_id(key_list, [f"g_{name}"])
        groups[name] = []
        for key, row in figures[name].items():
            row["group_key"] = key
            row["mttc_percentiles"] = percentiles.get(
                (own, *(key if column == f"g_{name}" else None for column in key_list))
            )
            row.update(labels.get((name, key), {}))
            groups[name].append(
                {
                    "key": grouping.output_key(key),
                    "label": grouping.label(row),
                    **_finish_summary(row),
                }
            )
        groups[name] = _sort_groups(grouping, groups[name])
    return _finish_summary(overall), groups


# --- stage flow: funnel (reached-or-passed) and time in stage --------------------------------


@dataclass
class StageFlow:
    stage: Stage
    entered: int = 0
    converted: int = 0
    completed_visits: int = 0
    mean_days: float | None = None
    median_days: float | None = None
    p90_days: float | None = None
    open_visits: int = 0
    open_age_mean_days: float | None = None
    open_age_max_days: float | None = None
    open_over_target: int = 0

    @property
    def conversion_rate(self) -> float | None:
        return _ratio(self.converted, self.entered)


def process_stages(process: Process) -> list[Stage]:
    return list(Stage.objects.filter(process=process).order_by("position"))


def _flow_opportunities(scope: Scope) -> QuerySet:
    """The deals whose transitions a stage metric reads. A deal closed before the period has
    no move in it (its close is its last move), so it is skipped."""
    opportunities = scope.opportunities.order_by()
    if scope.period.start is not None:
        opportunities = opportunities.filter(Q(outcome=OPEN) | Q(closed_at__gte=scope.period.start))
    return opportunities.values("pk")


def _stage_transitions(scope: Scope, stage_ids: Iterable[int]) -> QuerySet[StageTransition]:
    """Transitions into these stages (of the scope's process) by the deals of the scope.

    Each row is a visit: it lasts until `left_at` (the deal's next transition), or is still
    going on when that is null. The stage ids are given as literals, so the planner knows how
    many rows each one has.
    """
    rows = StageTransition.objects.filter(to_stage_id__in=sorted(stage_ids))
    if scope.narrowed:
        rows = rows.filter(opportunity__in=_flow_opportunities(scope))
    return rows


def _funnel_counts(scope: Scope, stages: Sequence[Stage]) -> dict[int, tuple[int, int]]:
    """{stage id: (entered, converted)}, one group per stage.

    Entered: the deals with an entry into the stage in the period. Converted: those of them
    with such an entry followed, at any time, by an entry into an open or won stage past it,
    which is what the entry's `passed_at` records. (The first entry in the period is passed
    exactly when any later one is, so counting deals with some passed entry is the same.)
    """
    entries = _stage_transitions(scope, [stage.pk for stage in stages]).filter(
        scope.period.q("moved_at")
    )
    rows = {
        row["to_stage_id"]: row
        for row in entries.values("to_stage_id")
        .annotate(
            entered=Count("opportunity_id", distinct=True),
            converted=Count("opportunity_id", distinct=True, filter=Q(passed_at__isnull=False)),
        )
        .order_by()
    }
    counts = {}
    for stage in stages:
        row = rows.get(stage.pk, {})
        converted = row.get("converted", 0) if stage.kind == Stage.Kind.OPEN else 0
        counts[stage.pk] = (row.get("entered", 0), converted)
    return counts


def _time_figures(scope: Scope, stages: Sequence[Stage], now: datetime) -> dict[int, dict]:
    """Per stage, one group of its visits: those that ended in the period (durations) and
    those still going on (ages), whatever the period."""
    percentiles_in_sql = supports_percentile_aggregate()
    done = Q(left_at__isnull=False)
    waiting = Q(left_at__isnull=True)
    stay = visit_length()
    age = DaysBetween(Value(now, output_field=DateTimeField()), F("moved_at"))
    deadlines = [
        When(to_stage_id=stage.pk, then=Value(now - timedelta(days=stage.target_days)))
        for stage in stages
        if stage.target_days
    ]
    # Counting `moved_at` (never null), not the id: every column read is in the covering
    # index transition_stage_deal_idx, so PostgreSQL scans the index alone.
    aggregates = {
        "completed": Count("moved_at", filter=done),
        "mean": Avg(stay, filter=done),
        "open": Count("moved_at", filter=waiting),
        "age_mean": Avg(age, filter=waiting),
        "age_max": Max(age, filter=waiting),
    }
    if deadlines:
        deadline = Case(*deadlines, default=None, output_field=DateTimeField())
        aggregates["overdue"] = Count("moved_at", filter=waiting & Q(moved_at__lt=deadline))
    if percentiles_in_sql:
        aggregates["percentiles"] = PercentilesCont(stay, PERCENTILES, filter=done)
    visits = _stage_transitions(scope, [stage.pk for stage in stages])
    if scope.period.bounded:  # (`waiting | Q()` would be `waiting` alone: guard, don't OR)
        visits = visits.filter(waiting | scope.period.q("left_at"))
    rows = {
        row["to_stage_id"]: row
        for row in visits.values("to_stage_id").annotate(**aggregates).order_by()
    }
    if not percentiles_in_sql:
        durations = (
            visits.filter(done)
            .annotate(stay=stay)
            .values_list("to_stage_id", "stay")
            .order_by("to_stage_id")
        )
        for stage_id, values in itertools.groupby(durations, key=lambda pair: pair[0]):
            rows[stage_id]["percentiles"] = percentiles_of(days for _, days in values)
    figures = {}
    for stage in stages:
        row = rows.get(stage.pk, {})
        figures[stage.pk] = {
            "completed_visits": row.get("completed", 0),
            "mean_days": _float(row.get("mean")),
            "percentiles": _split_percentiles(row.get("percentiles")),
            "open_visits": row.get("open", 0),
            "open_age_mean_days": _float(row.get("age_mean")),
            "open_age_max_days": _float(row.get("age_max")),
            "open_over_target": row.get("overdue", 0) if stage.target_days else 0,
        }
    return figures


def _stage_flow(
    *, scope: Scope, stages: Sequence[Stage], funnel: bool, time: bool, now: datetime
) -> list[StageFlow]:
    open_stages = [stage for stage in stages if stage.kind == Stage.Kind.OPEN]
    won_stages = [stage for stage in stages if stage.kind == Stage.Kind.WON] if funnel else []
    shown = [*open_stages, *won_stages]
    if not shown:
        return []
    counts = _funnel_counts(scope, shown) if funnel else {}
    times = _time_figures(scope, open_stages, now) if time and open_stages else {}
    flows = []
    for stage in shown:
        flow = StageFlow(stage=stage)
        if stage.pk in counts:
            flow.entered, flow.converted = counts[stage.pk]
        if stage.pk in times:
            figures = times[stage.pk]
            flow.median_days, flow.p90_days = figures.pop("percentiles")
            for name, value in figures.items():
                setattr(flow, name, value)
        flows.append(flow)
    return flows


@cached("funnel")
def funnel(*, scope: Scope, stages: Sequence[Stage] | None = None) -> list[StageFlow]:
    """Reached-or-passed conversion: of the opportunities that entered stage k in the period,
    those that later entered any later open stage or the won stage. The won stage closes the
    list with its entries (no conversion)."""
    stages = stages if stages is not None else _require_process_stages(scope)
    return _stage_flow(scope=scope, stages=stages, funnel=True, time=False, now=timezone.now())


@cached("time_in_stage")
def time_in_stage(
    *, scope: Scope, stages: Sequence[Stage] | None = None, now: datetime | None = None
) -> list[StageFlow]:
    """Per visit of an open stage: completed visits that ended in the period give the mean,
    median and p90; visits still open are ageing (now minus entry), whatever the period."""
    stages = stages if stages is not None else _require_process_stages(scope)
    return _stage_flow(
        scope=scope, stages=stages, funnel=False, time=True, now=now or timezone.now()
    )


def _require_process_stages(scope: Scope) -> list[Stage]:
    if scope.process is None:
        raise InvalidInput(
            "Stage metrics are per process: pass ?process=<id>.", errors={"process": ["required"]}
        )
    return process_stages(scope.process)


# --- which stage's dwell grew most -----------------------------------------------------------

RECENT_DAYS, BASELINE_DAYS = 90, 180


@dataclass
class DwellShift:
    stage: Stage
    baseline_days: float | None  # mean days per won deal spent in the stage, baseline window
    recent_days: float | None

    @property
    def change_days(self) -> float | None:
        if self.baseline_days is None or self.recent_days is None:
            return None
        return self.recent_days - self.baseline_days

    @property
    def change_pct(self) -> float | None:
        change = self.change_days
        if change is None or not self.baseline_days:
            return None
        return change / self.baseline_days


@dataclass
class DwellShiftReport:
    recent: Period
    baseline: Period
    recent_won: int
    baseline_won: int
    mttc_recent: float | None
    mttc_baseline: float | None
    stages: list[DwellShift]

    @property
    def mttc_change(self) -> float | None:
        if self.mttc_recent is None or self.mttc_baseline is None:
            return None
        return self.mttc_recent - self.mttc_baseline

    @property
    def top(self) -> DwellShift | None:
        grown = [s for s in self.stages if s.change_days is not None and s.change_days > 0]
        return max(grown, key=lambda s: s.change_days, default=None)

    def share_of_mttc_change(self, shift: DwellShift) -> float | None:
        change = self.mttc_change
        if not change or shift.change_days is None:
            return None
        return shift.change_days / change


@cached("dwell_shift")
def dwell_shift(
    *, scope: Scope, stages: Sequence[Stage], now: datetime | None = None
) -> DwellShiftReport:
    """Which stage's dwell grew most: last 90 days against the 180 days before.

    Both windows look at deals won in them. For each stage, the time a won deal spent in it
    between its clock start and its close (all its visits, summed) is averaged over the won
    deals of the window. Those per-stage figures add up to the deal's MTTC, so the change of a
    stage divided by the change of MTTC is the share of the MTTC change that stage explains.
    Visits of a won stage left again (a reopened deal) count under the won stage.
    """
    end = now or scope.period.end or timezone.now()
    recent = Period(start=end - timedelta(days=RECENT_DAYS), end=end)
    baseline = Period(start=recent.start - timedelta(days=BASELINE_DAYS), end=recent.start)
    won_ids = (
        scope.opportunities.order_by()
        .filter(
            outcome=WON, engaged_at__isnull=False, closed_at__gte=baseline.start, closed_at__lt=end
        )
        .values("pk")
    )
    visits = StageTransition.objects.filter(opportunity__in=won_ids).annotate(
        deal_closed_at=F("opportunity__closed_at"), deal_engaged_at=F("opportunity__engaged_at")
    )
    in_clock = Q(
        left_at__isnull=False,
        moved_at__gte=F("deal_engaged_at"),
        left_at__lte=F("deal_closed_at"),
    )
    final = Q(left_at__isnull=True)  # the entry into Won that closed the deal
    stay = visit_length()
    windows = {"recent": recent.q("deal_closed_at"), "baseline": baseline.q("deal_closed_at")}
    aggregates = {}
    for name, window in windows.items():
        aggregates[f"won_{name}"] = Count("pk", filter=final & window)
        aggregates[f"mttc_days_{name}"] = Sum(
            DaysBetween(F("deal_closed_at"), F("deal_engaged_at")), filter=final & window
        )
        aggregates[f"stay_{name}"] = Sum(stay, filter=in_clock & window)
    # One group per stage entered; the final entries fall in the won stages' groups.
    per_stage = {
        row["to_stage_id"]: row
        for row in visits.values("to_stage_id").annotate(**aggregates).order_by()
    }
    row = {}
    for name in windows:
        won = sum(group[f"won_{name}"] for group in per_stage.values())
        mttc_days = sum(group[f"mttc_days_{name}"] or 0.0 for group in per_stage.values())
        row[f"won_{name}"] = won
        row[f"mttc_{name}"] = mttc_days / won if won else None
    shifts = []
    for stage in stages:
        per_deal = {}
        for name in windows:
            won = row[f"won_{name}"]
            total = per_stage.get(stage.pk, {}).get(f"stay_{name}") or 0.0
            per_deal[name] = total / won if won else None
        if not (per_deal["recent"] or per_deal["baseline"]):
            # Never dwelt in by a won deal's clock in either window (a stage before the
            # clock starts, a closed stage never reopened): nothing to compare.
            continue
        shifts.append(
            DwellShift(
                stage=stage, baseline_days=per_deal["baseline"], recent_days=per_deal["recent"]
            )
        )
    return DwellShiftReport(
        recent=recent,
        baseline=baseline,
        recent_won=row["won_recent"],
        baseline_won=row["won_baseline"],
        mttc_recent=_float(row["mttc_recent"]),
        mttc_baseline=_float(row["mttc_baseline"]),
        stages=shifts,
    )


# --- consistency (gate compliance) -----------------------------------------------------------


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
        transitions = StageTransition.objects.filter(opportunity__in=_ids(scope))
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
        "rate": _ratio(compliant, exits),
        "stages": [
            {
                "stage_id": figures["stage"].pk,
                "name": figures["stage"].name,
                "exits": figures["exits"],
                "compliant": figures["compliant"],
                "rate": _ratio(figures["compliant"], figures["exits"]),
            }
            for figures in ordered
        ],
    }


def _overridden_deal() -> Exists:
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
            mttc=Avg(_mttc_duration(), filter=won & Q(engaged_at__isnull=False)),
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
            "win_rate": _ratio(row["won"], row["won"] + row["lost"]),
            "mttc_days": _float(row["mttc"]),
        }
    return result


# --- ESAT -------------------------------------------------------------------------------------


@cached("esat")
def esat(*, scope: Scope) -> dict:
    """Mean score and share of 4–5 answers among the answers received in the period, overall
    and per stage."""
    rows = list(
        EsatResponse.objects.filter(opportunity__in=_ids(scope))
        .filter(scope.period.q("received_at"))
        .values("stage", "stage__name", "stage__position")
        .annotate(
            answers=Count("pk"),
            score_total=Coalesce(Sum("score"), 0),
            satisfied=Count("pk", filter=Q(score__gte=4)),
        )
        .order_by("stage__position", "stage")
    )
    answers = sum(row["answers"] for row in rows)
    total = sum(row["score_total"] for row in rows)
    satisfied = sum(row["satisfied"] for row in rows)
    return {
        "answers": answers,
        "mean_score": _ratio(total, answers),
        "satisfied_share": _ratio(satisfied, answers),
        "stages": [
            {
                "stage_id": row["stage"],
                "name": row["stage__name"] or "No stage",
                "answers": row["answers"],
                "mean_score": _ratio(row["score_total"], row["answers"]),
                "satisfied_share": _ratio(row["satisfied"], row["answers"]),
            }
            for row in rows
        ],
    }


# --- pipeline ---------------------------------------------------------------------------------


@cached("pipeline_by_stage")
def pipeline_by_stage(*, scope: Scope) -> list[dict]:
    """Open deals now, per stage: count, amount, and amount weighted by the stage probability."""
    rows = (
        scope.opportunities.order_by()
        .filter(outcome=OPEN)
        .values("stage", "stage__name", "stage__position", "stage__probability", "process__name")
        .annotate(
            open_count=Count("pk"),
            amount_total=Sum("amount", output_field=AMOUNT),
            weighted=Sum(
                ExpressionWrapper(
                    F("amount") * F("stage__probability") / Value(Decimal("100.0")),
                    output_field=AMOUNT,
                ),
                output_field=AMOUNT,
            ),
        )
        .order_by("process__name", "stage__position")
    )
    return [
        {
            "stage_id": row["stage"],
            "name": row["stage__name"],
            "process": row["process__name"],
            "probability": row["stage__probability"],
            "open_count": row["open_count"],
            "amount": _money(row["amount_total"] or 0),
            "weighted_amount": _money(row["weighted"] or 0),
        }
        for row in rows
    ]


def pipeline_history(
    *, user, process: Process | None, team: Team | None = None, period: Period = Period()
) -> list[dict]:
    """Daily snapshots (see MetricSnapshot), summed over the teams the user may see."""
    snapshots = MetricSnapshot.objects.all()
    if process is not None:
        snapshots = snapshots.filter(process=process)
    if team is not None:
        snapshots = snapshots.filter(team=team)
    if opportunity_permissions.opportunity_visibility_q(user) is not None:
        snapshots = snapshots.filter(
            team_id__in=list(opportunity_permissions.visible_team_ids(user))
        )
    if period.start is not None:
        snapshots = snapshots.filter(day__gte=timezone.localdate(period.start))
    if period.end is not None:
        snapshots = snapshots.filter(day__lt=timezone.localdate(period.end))
    rows = (
        snapshots.values("day")
        .annotate(
            open_count=Sum("open_count"),
            pipeline=Sum("pipeline_amount"),
            weighted=Sum("weighted_pipeline_amount"),
        )
        .order_by("day")
    )
    return [
        {
            "day": row["day"],
            "open_count": row["open_count"],
            "pipeline_amount": _money(row["pipeline"]),
            "weighted_pipeline_amount": _money(row["weighted"]),
        }
        for row in rows
    ]


def open_pipeline_by_stage_and_team() -> QuerySet:
    """What a snapshot stores: every open deal, grouped by process, stage and team."""
    return (
        Opportunity.objects.filter(outcome=OPEN)
        .values("process_id", "stage_id", "team_id")
        .annotate(
            open_count=Count("pk"),
            amount_total=Coalesce(Sum("amount"), Decimal("0"), output_field=AMOUNT),
            weighted=Coalesce(
                Sum(
                    ExpressionWrapper(
                        F("amount") * F("stage__probability") / Value(Decimal("100.0")),
                        output_field=AMOUNT,
                    ),
                    output_field=AMOUNT,
                ),
                Decimal("0"),
                output_field=AMOUNT,
            ),
        )
        .order_by("process_id", "stage_id", "team_id")
    )


def open_pipeline_on(moment: datetime) -> QuerySet:
    """The open pipeline as it stood at `moment`, rebuilt from the transitions: each deal in the
    stage its last transition before then entered. Amounts are today's (edits are not
    events), so a rebuilt day is an approximation of what a snapshot would have stored."""
    last = StageTransition.objects.filter(
        opportunity_id=OuterRef("pk"), moved_at__lt=moment
    ).order_by("-moved_at", "-pk")
    stage_then = Subquery(last.values("to_stage_id")[:1])
    kind_then = Subquery(last.values("to_stage__kind")[:1])
    probability_then = Subquery(last.values("to_stage__probability")[:1])
    return (
        Opportunity.objects.filter(created_at__lt=moment)
        .annotate(stage_then=stage_then, kind_then=kind_then, probability_then=probability_then)
        .filter(kind_then=Stage.Kind.OPEN)
        .values("process_id", "stage_then", "team_id")
        .annotate(
            open_count=Count("pk"),
            amount_total=Coalesce(Sum("amount"), Decimal("0"), output_field=AMOUNT),
            weighted=Coalesce(
                Sum(
                    ExpressionWrapper(
                        F("amount") * F("probability_then") / Value(Decimal("100.0")),
                        output_field=AMOUNT,
                    ),
                    output_field=AMOUNT,
                ),
                Decimal("0"),
                output_field=AMOUNT,
            ),
        )
        .order_by("process_id", "stage_then", "team_id")
    )


# --- quotas -----------------------------------------------------------------------------------


def quota_visible_users_q(user) -> Q | None:
    """Quotas of the people whose deals the user may see: everyone for admins and curators,
    else the members of the user's teams (managed or joined) and the user."""
    if opportunity_permissions.opportunity_visibility_q(user) is None:
        return None
    members = Team.members.through.objects.filter(
        team_id__in=list(opportunity_permissions.visible_team_ids(user))
    ).values("user_id")
    return Q(user_id__in=members) | Q(user_id=user.pk)


def quota_attainment(*, user, on: date | None = None, team: Team | None = None) -> list[dict]:
    """Quotas whose period contains `on` (default today), with what was achieved in the period.

    Won amount: the amount of deals won in the quota's period where the person is the owner or
    the account executive. Qualified opportunities: deals whose MTTC clock started (they
    entered the qualifying stage that starts the clock) in the period, credited the same way.
    Both are counted over all of the person's deals, whatever the dashboard filters.
    """
    on = on or timezone.localdate()
    quotas = Quota.objects.filter(period_start__lte=on, period_end__gte=on)
    scope_q = quota_visible_users_q(user)
    if scope_q is not None:
        quotas = quotas.filter(scope_q)
    if team is not None:
        quotas = quotas.filter(user__teams=team)
    credited = Q(owner_id=OuterRef("user_id")) | Q(account_executive_id=OuterRef("user_id"))
    won_amount = (
        Opportunity.objects.filter(credited, outcome=WON)
        .filter(
            closed_at__date__gte=OuterRef("period_start"),
            closed_at__date__lte=OuterRef("period_end"),
        )
        .order_by()
        .annotate(total=Func(F("amount"), function="SUM", output_field=AMOUNT))
        .values("total")
    )
    qualified = (
        Opportunity.objects.filter(credited)
        .filter(
            engaged_at__date__gte=OuterRef("period_start"),
            engaged_at__date__lte=OuterRef("period_end"),
        )
        .order_by()
        .annotate(total=Func(F("pk"), function="COUNT", output_field=IntegerField()))
        .values("total")
    )
    rows = (
        quotas.annotate(
            achieved=Case(
                When(
                    kind=Quota.Kind.WON_AMOUNT,
                    then=Coalesce(Subquery(won_amount, output_field=AMOUNT), Decimal("0")),
                ),
                default=Coalesce(Subquery(qualified, output_field=AMOUNT), Decimal("0")),
                output_field=AMOUNT,
            )
        )
        .values(
            "pk",
            "kind",
            "period_start",
            "period_end",
            "target",
            "achieved",
            "user_id",
            "user__first_name",
            "user__last_name",
            "user__username",
        )
        .order_by("kind", "user__last_name", "user__first_name", "user_id", "period_start")
    )
    kinds = dict(Quota.Kind.choices)
    result = []
    for row in rows:
        achieved = float(row["achieved"] or 0)
        target = float(row["target"])
        result.append(
            {
                "quota_id": row["pk"],
                "user_id": row["user_id"],
                "name": _full_name(row, "user"),
                "kind": row["kind"],
                "kind_label": kinds[row["kind"]],
                "period_start": row["period_start"],
                "period_end": row["period_end"],
                "target": target,
                "achieved": achieved,
                "attainment": _ratio(achieved, target),
            }
        )
    return result


# --- drill-down: the opportunities behind a bar ----------------------------------------------

DRILLS = {
    "won": "Won in the period",
    "lost": "Lost in the period",
    "qualified_out": "Qualified out in the period",
    "closed": "Won or lost in the period",
    "open": "Open now",
    "stage_entered": "Entered the stage in the period",
    "stage_converted": "Entered the stage in the period and later moved past it",
    "stage_dropped": "Entered the stage in the period and never moved past it",
    "stage_completed": "Left the stage in the period",
    "stage_open": "In the stage now",
    "stage_overridden": "Left the stage in the period with a gate overridden",
    "overridden": "Closed in the period with a gate overridden",
    "compliant": "Closed in the period with every gate met",
    "quota": "Counted towards the quota",
}


def drilldown(
    *,
    scope: Scope,
    drill: str,
    stage: Stage | None = None,
    group_by: str | None = None,
    key: str | None = None,
) -> QuerySet[Opportunity]:
    """The opportunities behind one figure of the dashboard, under the same filters."""
    if drill not in DRILLS:
        raise InvalidInput(f"Unknown list {drill!r}.", errors={"drill": [drill]})
    closed_in = scope.period.q("closed_at")
    opportunities = scope.opportunities
    by_outcome = {
        "won": Q(outcome=WON) & closed_in,
        "lost": Q(outcome=LOST) & closed_in,
        "qualified_out": Q(outcome=QUALIFIED_OUT) & closed_in,
        "closed": Q(outcome__in=(WON, LOST)) & closed_in,
        "open": Q(outcome=OPEN),
    }
    if drill in by_outcome:
        opportunities = opportunities.filter(by_outcome[drill])
    elif drill == "quota":
        # A quota counts all of the person's deals, whatever the page's other filters.
        opportunities = opportunity_list(user=scope.user).filter(_quota_q(scope.user, key))
        group_by = None
    elif drill in ("overridden", "compliant"):
        opportunities = opportunities.filter(Q(outcome__in=(WON, LOST)) & closed_in).filter(
            _overridden_deal() if drill == "overridden" else ~_overridden_deal()
        )
    else:
        if stage is None:
            raise InvalidInput("This list needs a stage.", errors={"stage": ["required"]})
        opportunities = opportunities.filter(_stage_drill_q(drill, stage, scope.period))
    if group_by:
        opportunities = _group_filter(opportunities, group_by, key)
    return opportunities.order_by(
        F("closed_at").desc(nulls_last=True), F("stage_entered_at").desc(), F("pk").desc()
    )


def _quota_q(user, key) -> Q:
    quotas = Quota.objects.all()
    visible = quota_visible_users_q(user)
    if visible is not None:
        quotas = quotas.filter(visible)
    try:
        quota = quotas.get(pk=int(key))
    except (TypeError, ValueError, Quota.DoesNotExist) as exc:
        raise InvalidInput("Unknown quota.", errors={"key": [str(key)]}) from exc
    credited = Q(owner_id=quota.user_id) | Q(account_executive_id=quota.user_id)
    if quota.kind == Quota.Kind.WON_AMOUNT:
        moment = Q(outcome=WON, closed_at__date__gte=quota.period_start) & Q(
            closed_at__date__lte=quota.period_end
        )
    else:
        moment = Q(engaged_at__date__gte=quota.period_start, engaged_at__date__lte=quota.period_end)
    return credited & moment


def _stage_drill_q(drill: str, stage: Stage, period: Period) -> Q:
    if drill == "stage_open":
        return Q(stage=stage, outcome=OPEN)
    if drill in ("stage_completed", "stage_overridden"):
        # A transition leaving the stage ends a visit of it.
        exits = StageTransition.objects.filter(
            Q(opportunity_id=OuterRef("pk"), from_stage=stage) & period.q("moved_at")
        )
        if drill == "stage_overridden":
            exits = exits.exclude(COMPLIANT_EXIT)
        return Q(Exists(exits))
    moved_past = StageTransition.objects.filter(
        opportunity_id=OuterRef("opportunity_id"),
        moved_at__gt=OuterRef("moved_at"),
        to_stage__position__gt=stage.position,
        to_stage__kind__in=(Stage.Kind.OPEN, Stage.Kind.WON),
    )
    entries = StageTransition.objects.filter(
        Q(opportunity_id=OuterRef("pk"), to_stage=stage) & period.q("moved_at")
    )
    if drill == "stage_entered":
        return Q(Exists(entries))
    converted = Exists(entries.filter(Exists(moved_past)))
    return Q(converted) if drill == "stage_converted" else Q(Exists(entries)) & ~Q(converted)


def _group_filter(opportunities: QuerySet, group_by: str, key: str | None) -> QuerySet:
    grouping = GROUPINGS.get(group_by)
    if grouping is None:
        raise InvalidInput(f"Unknown grouping {group_by!r}.", errors={"group_by": [group_by]})
    if grouping.name == "month":
        if not key:
            return opportunities.filter(closed_at__isnull=True)
        try:
            year, month = (int(part) for part in key.split("-"))
            first = timezone.make_aware(datetime(year, month, 1))
        except ValueError as exc:
            raise InvalidInput("A month is YYYY-MM.", errors={"key": [key]}) from exc
        following = timezone.make_aware(datetime(year + month // 12, month % 12 + 1, 1))
        return opportunities.filter(closed_at__gte=first, closed_at__lt=following)
    path = grouping.key
    if key in (None, ""):
        return opportunities.filter(Q(**{f"{path}__isnull": True}) | Q(**{path: ""}))
    if path.endswith("_id"):
        try:
            return opportunities.filter(**{path: int(key)})
        except ValueError as exc:
            raise InvalidInput("Unknown group key.", errors={"key": [key]}) from exc
    return opportunities.filter(**{path: key})


def group_label(group_by: str | None, key: str | None) -> str:
    """How a drill-down names its group: "Owner: Alice Archer", "Month closed: 2025-03"."""
    grouping = GROUPINGS.get(group_by or "")
    if grouping is None:
        return ""
    if key in (None, ""):
        return f"{grouping.title}: {grouping.empty_label}"
    label = str(key)
    key_id = parse_id(key)
    if grouping.name in ("owner", "team") and key_id is not None:
        if grouping.name == "owner":
            user = get_user_model().objects.filter(pk=key_id).first()
            label = (user.get_full_name() or user.username) if user else label
        else:
            label = Team.objects.filter(pk=key_id).values_list("name", flat=True).first() or label
    elif grouping.choices is not None:
        label = str(grouping.choices.get(key, key))
    return f"{grouping.title}: {label}"


def drilldown_rows(opportunities: QuerySet[Opportunity]) -> QuerySet:
    """The columns of the drill-down list and its CSV, with the cycle time computed."""
    return opportunities.annotate(cycle_days=_mttc_duration())


# --- pilots -----------------------------------------------------------------------------------


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
        return _ratio(self.won, self.won + self.lost)

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
        .annotate(days=_mttc_duration())
        .values_list("arm", "days")
        .order_by("arm", "days")
    )
    for name, days in durations:
        arms[name].mttc_days.append(days)
    return arms


# --- filter choices for the dashboard --------------------------------------------------------


def dashboard_processes() -> QuerySet[Process]:
    return Process.objects.exclude(status=Process.Status.DRAFT).order_by("name", "-version")


def dashboard_teams(user) -> QuerySet[Team]:
    teams = Team.objects.order_by("name")
    if opportunity_permissions.opportunity_visibility_q(user) is None:
        return teams
    return teams.filter(pk__in=list(opportunity_permissions.visible_team_ids(user)))


def busiest_process(*, user) -> Process | None:
    """The default process of the dashboard: the one with the most deals the user can see.

    Only a default, so it is remembered for the cache's time limit without a generation.
    """
    sees_everything = opportunity_permissions.opportunity_visibility_q(user) is None
    key = f"metrics:busiest-process:{'everything' if sees_everything else user.pk}"
    seconds = cache_seconds()
    process_id = django_cache.get(key) if seconds else None
    if process_id is None:
        row = (
            opportunity_list(user=user)
            .order_by()
            .values("process")
            .annotate(deals=Count("pk"))
            .order_by("-deals", "process")
            .first()
        )
        process_id = row["process"] if row else 0
        if seconds:
            django_cache.set(key, process_id, seconds)
    if not process_id:
        return dashboard_processes().filter(status=Process.Status.ACTIVE).first()
    return Process.objects.filter(pk=process_id).first()
