"""The summary: counts, MTTC / MTTL / cycle, win rate, amounts. Overall (`summary`), per group
(`summary_by`), and for several groupings at once (`summary_sets`, one pass through GROUPING SETS
on PostgreSQL). All three read the same rows and finish them with the same code."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)

from epos.lib.errors import InvalidInput
from metrics.cache import cached
from metrics.expressions import PercentilesCont, supports_percentile_aggregate
from metrics.selectors.common import (
    AMOUNT,
    LOST,
    OPEN,
    PERCENTILES,
    QUALIFIED_OUT,
    WON,
    money,
    percentiles_of,
    split_percentiles,
)
from metrics.selectors.groupings import GROUPINGS, group_labels, sort_groups
from metrics.selectors.scope import Period, Scope
from opportunities.measures import mttc_duration, ratio

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


def _summary_aggregates(*, with_percentiles: bool, with_currency: bool = True) -> dict:
    """Conditional aggregates over the rows `_in_summary` keeps (open deals, deals closed in
    the period). Each figure that `_finish_summary` can derive (rates, means, the cycle over
    won and lost) is left to it, so every row feeds as few aggregates as possible: a duration
    is computed only for a won or a lost row, once."""
    clocked = Q(engaged_at__isnull=False)
    won, lost, still_open = Q(outcome=WON), Q(outcome=LOST), Q(outcome=OPEN)
    duration = mttc_duration()
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
    median, p90 = split_percentiles(row.get("mttc_percentiles"))
    low, high = row["currency_min"], row["currency_max"]
    return {
        # The deals' currency when they share one; None when there are none or several (their
        # amounts are then added as recorded, without conversion).
        "currency": low if low == high else None,
        "mixed_currencies": low != high,
        "won_count": won,
        "lost_count": lost,
        "open_count": row["open"],
        "win_rate": ratio(won, won + lost),
        "mttc_days": ratio(won_days, won_clocked),
        "mttc_median_days": median,
        "mttc_p90_days": p90,
        "mttl_days": ratio(lost_days, lost_clocked),
        "cycle_days_closed_mean": ratio(won_days + lost_days, won_clocked + lost_clocked),
        "avg_won_amount": money(won_amount / row["won_priced"]) if row["won_priced"] else None,
        "won_amount_total": money(won_amount),
        "pipeline_amount": money(row["open_amount"] or 0),
        "weighted_pipeline_amount": money(row["weighted_amount"] or 0),
        "qualified_out_count": qualified_out,
        "qualified_out_rate": ratio(qualified_out, won + lost + qualified_out),
        "mttc_count": won_clocked,
        "mttl_count": lost_clocked,
        "cycle_closed_count": won_clocked + lost_clocked,
    }


def _won_durations(rows: QuerySet, period: Period) -> QuerySet:
    return rows.filter(Q(outcome=WON, engaged_at__isnull=False) & period.q("closed_at")).annotate(
        days=mttc_duration()
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
        labels = group_labels({grouping.name: [row["group_key"] for row in grouped]})
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
    return sort_groups(grouping, groups)


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
    if not group_bys or not supports_percentile_aggregate():
        # No grouping: GROUPING SETS would have nothing to group by (GROUPING() is not SQL).
        return summary(scope=scope), {
            name: summary_by(scope=scope, group_by=name) for name in group_bys
        }
    return _summary_sets_postgresql(scope, list(group_bys))


# --- several groupings in one pass: GROUPING SETS on PostgreSQL -----------------------------


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
    family_sets = _family_sets(key_list, names)
    additive = _grouping_sets_rows(
        _deal_columns(rows, keys),
        key_list,
        [(*(f"g_{name}" for name in members), "x_currency") for members in family_sets.values()],
        _additive_aggregates(),
    )
    overall, figures = _add_up_sets(additive, family_sets, names)
    percentiles = _percentiles_by_set(rows, keys)
    everything = _grouping_id(key_list, [])
    overall["mttc_percentiles"] = percentiles.get((everything, *(None for _ in key_list)))

    # Names are looked up afterwards: carried through the sorts, they would widen every row.
    labels = group_labels({name: list(figures[name]) for name in names})
    groups = {
        name: _finish_groups(name, figures[name], percentiles, labels, key_list) for name in names
    }
    return _finish_summary(overall), groups


def _deal_columns(rows: QuerySet, keys: dict) -> QuerySet:
    """One row per deal with the grouping keys and the columns the additive figures read."""
    return rows.annotate(
        **keys,
        x_outcome=F("outcome"),
        x_clocked=ExpressionWrapper(Q(engaged_at__isnull=False), output_field=BooleanField()),
        x_amount=F("amount"),
        x_currency=F("currency"),
        x_days=mttc_duration(),
        x_weighted=ExpressionWrapper(
            F("amount") * F("stage__probability") / Value(Decimal("100.0")), output_field=AMOUNT
        ),
    ).values(*keys, "x_outcome", "x_clocked", "x_amount", "x_currency", "x_days", "x_weighted")


def _family_sets(key_list: list[str], names: list[str]) -> dict[int, list[str]]:
    """{grouping_id: the groupings it serves}: one grouping set per family of groupings."""
    families: dict[str, list[str]] = {}
    for name in names:
        families.setdefault(GROUPINGS[name].family or name, []).append(name)
    return {
        _grouping_id(key_list, [f"g_{name}" for name in members]): members
        for members in families.values()
    } or {_grouping_id(key_list, []): []}


def _additive_aggregates() -> dict[str, str]:
    """The SQL of `_summary_aggregates`' additive figures over `_deal_columns`."""
    # The literals below are the outcome constants (common.py), never user input.
    won, lost = f"x_outcome = '{WON}'", f"x_outcome = '{LOST}'"
    still_open = f"x_outcome = '{OPEN}'"
    return {
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
    }


def _add_up_sets(
    additive: list, family_sets: dict[int, list[str]], names: list[str]
) -> tuple[dict, dict[str, dict]]:
    """(overall figures, {grouping: {key: figures}}) from the additive statement's rows."""
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
    return overall or _no_figures(), figures  # no deal, hence no row at all


def _percentiles_by_set(rows: QuerySet, keys: dict) -> dict[tuple, list | None]:
    """MTTC percentiles of the won deals with a clock, overall and per key:
    {(grouping_id, *key values): percentiles}."""
    key_list = list(keys)
    fractions = ", ".join(repr(float(fraction)) for fraction in PERCENTILES)
    durations = (
        rows.filter(outcome=WON, engaged_at__isnull=False)
        .annotate(**keys, x_days=mttc_duration())
        .values(*keys, "x_days")
    )
    return {
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


def _finish_groups(
    name: str, figures: dict, percentiles: dict, labels: dict, key_list: list[str]
) -> list[dict]:
    """`summary_by`'s groups for grouping `name` from its added-up figures."""
    grouping = GROUPINGS[name]
    own = _grouping_id(key_list, [f"g_{name}"])
    groups = []
    for key, row in figures.items():
        row["group_key"] = key
        row["mttc_percentiles"] = percentiles.get(
            (own, *(key if column == f"g_{name}" else None for column in key_list))
        )
        row.update(labels.get((name, key), {}))
        groups.append(
            {
                "key": grouping.output_key(key),
                "label": grouping.label(row),
                **_finish_summary(row),
            }
        )
    return sort_groups(grouping, groups)
