"""Every metric against answers worked out by hand on the pipeline of conftest.py.

The expected numbers come from the deal table in conftest (days from T0), not from the code:
e.g. MTTC over A (30 days), B (12) and C (40, reopened and won again) is 82 / 3.
"""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from pytest import approx

from metrics import selectors
from metrics.models import Quota
from tests import factories
from tests.metrics.conftest import PERIOD, day

pytestmark = pytest.mark.django_db


def scope_for(user, pipeline=None, **params):
    if pipeline is not None:
        params.setdefault("process", pipeline.process.pk)
    return selectors.metric_scope(user=user, params=params)


def names(queryset):
    return sorted(queryset.values_list("name", flat=True))


# --- summary ------------------------------------------------------------------------------------


def test_summary_of_the_period_for_the_teams_manager(pipeline, carol):
    result = selectors.summary(scope=scope_for(carol, pipeline, **PERIOD))

    assert result["won_count"] == 3  # A, B, C; I closed before the period
    assert (result["currency"], result["mixed_currencies"]) == ("USD", False)
    assert result["lost_count"] == 1  # D; E is qualified out
    assert result["qualified_out_count"] == 1
    assert result["open_count"] == 2  # F, G
    assert result["win_rate"] == approx(3 / 4)
    assert result["qualified_out_rate"] == approx(1 / 5)
    assert result["mttc_count"] == 3
    assert result["mttc_days"] == approx((30 + 12 + 40) / 3)
    assert result["mttc_median_days"] == approx(30)
    assert result["mttc_p90_days"] == approx(30 + 0.8 * (40 - 30))  # rank 1.8 of [12, 30, 40]
    assert result["mttl_days"] == approx(20)  # D only: a qualified-out deal is not lost
    assert result["cycle_days_closed_mean"] == approx((30 + 12 + 40 + 20) / 4)
    assert result["avg_won_amount"] == approx(20_000)
    assert result["won_amount_total"] == approx(60_000)
    assert result["pipeline_amount"] == approx(48_000)
    assert result["weighted_pipeline_amount"] == approx(40_000 * 0.4 + 8_000 * 0.2)


def test_summary_without_a_period_counts_every_close(pipeline, carol):
    result = selectors.summary(scope=scope_for(carol, pipeline))

    assert result["won_count"] == 4  # I counts now
    durations = [12, 30, 35, 40]
    assert result["mttc_days"] == approx(sum(durations) / 4)
    assert result["mttc_median_days"] == approx(32.5)
    assert result["mttc_p90_days"] == approx(35 + 0.7 * 5)  # rank 2.7
    assert result["win_rate"] == approx(4 / 5)


def test_reopened_deal_counts_once_from_its_first_clock_start_to_its_last_close(pipeline, carol):
    only_c = scope_for(carol, pipeline, **PERIOD, owner=pipeline.deals["C"].owner_id)
    result = selectors.summary(scope=only_c)
    # bob's deals in the period: C won (reopened once), D lost, G open
    assert result["won_count"] == 1
    assert result["mttc_days"] == approx(40)
    assert result["mttl_days"] == approx(20)


@pytest.mark.parametrize(
    ("persona", "won", "mttc"),
    [
        ("root", 4, (30 + 12 + 40 + 50) / 4),  # the admin also sees H, another team's win
        ("dave", 1, 50),  # dave sees only his team's H
        ("bob", 4, (30 + 12 + 40 + 50) / 4),  # bob is H's account executive
        ("alice", 3, (30 + 12 + 40) / 3),
    ],
)
def test_summary_respects_what_each_user_may_see(pipeline, request, persona, won, mttc):
    user = request.getfixturevalue(persona)
    result = selectors.summary(scope=scope_for(user, pipeline, **PERIOD))
    assert result["won_count"] == won
    assert result["mttc_days"] == approx(mttc)


def test_summary_of_an_empty_scope_is_null_where_undefined(pipeline, carol):
    result = selectors.summary(scope=scope_for(carol, pipeline, closed_after="2030-01-01"))
    assert result["won_count"] == result["lost_count"] == 0
    assert result["open_count"] == 2  # pipeline is what is open now
    for name in ("win_rate", "mttc_days", "mttc_median_days", "mttc_p90_days", "mttl_days"):
        assert result[name] is None
    assert result["avg_won_amount"] is None
    assert result["won_amount_total"] == 0


def test_period_bounds_are_start_inclusive_and_end_exclusive(pipeline, carol):
    # B closed exactly on d12, A on d30.
    b_only = selectors.summary(
        scope=scope_for(
            carol, pipeline, closed_after=day(12).isoformat(), closed_before=day(30).isoformat()
        )
    )
    assert b_only["won_count"] == 1
    assert b_only["mttc_days"] == approx(12)


def test_segment_filter_reads_the_account(pipeline, carol):
    assert (
        selectors.summary(scope=scope_for(carol, pipeline, segment="enterprise"))["won_count"] == 0
    )
    assert (
        selectors.summary(scope=scope_for(carol, pipeline, segment="mid_market"))["won_count"] == 4
    )


def test_percentiles_match_numpy_linear_interpolation(carol, team):
    process, stages = factories.make_process(("Discovery",))
    rng = np.random.default_rng(7)
    durations = rng.gamma(2.0, 20.0, size=23).round(3)
    start = day(0)
    for index, days in enumerate(durations):
        factories.OpportunityFactory(
            stage=stages[0],
            team=team,
            created_at=start,
            engaged_at=start,
            closed_at=start + timedelta(days=float(days)),
            outcome="won",
            name=f"won {index}",
        )
    result = selectors.summary(scope=scope_for(carol, process=process.pk))
    median, p90 = np.percentile(durations, [50, 90])
    assert result["mttc_median_days"] == approx(median, abs=1e-6)
    assert result["mttc_p90_days"] == approx(p90, abs=1e-6)
    assert result["mttc_days"] == approx(durations.mean(), abs=1e-6)


# --- grouped ------------------------------------------------------------------------------------


def test_group_by_owner_labels_with_full_names_and_splits_the_figures(pipeline, carol):
    groups = selectors.summary_by(scope=scope_for(carol, pipeline, **PERIOD), group_by="owner")

    assert [(g["label"], g["key"]) for g in groups] == [
        ("Alice Archer", pipeline.deals["A"].owner_id),
        ("Bob Baker", pipeline.deals["C"].owner_id),
    ]
    alice, bob = groups
    assert (alice["won_count"], alice["lost_count"], alice["open_count"]) == (2, 0, 1)
    assert alice["qualified_out_count"] == 1
    assert alice["mttc_days"] == approx(21)
    assert alice["mttc_median_days"] == approx(21)
    assert alice["mttc_p90_days"] == approx(12 + 0.9 * 18)
    assert alice["win_rate"] == approx(1.0)
    assert alice["pipeline_amount"] == approx(40_000)
    assert alice["weighted_pipeline_amount"] == approx(16_000)
    assert (bob["won_count"], bob["lost_count"], bob["open_count"]) == (1, 1, 1)
    assert bob["win_rate"] == approx(0.5)
    assert bob["mttl_days"] == approx(20)
    assert bob["cycle_days_closed_mean"] == approx(30)
    assert bob["weighted_pipeline_amount"] == approx(1_600)


def test_group_by_month_of_close_puts_open_deals_in_a_group_of_their_own(pipeline, carol):
    groups = selectors.summary_by(scope=scope_for(carol, pipeline, **PERIOD), group_by="month")

    assert [g["key"] for g in groups] == ["2025-01", "2025-02", None]
    january, february, still_open = groups
    assert (january["won_count"], january["lost_count"], january["qualified_out_count"]) == (
        2,
        1,
        1,
    )
    assert january["mttc_days"] == approx(21)
    assert february["won_count"] == 1 and february["mttc_days"] == approx(40)
    assert still_open["label"] == "Open"
    assert still_open["open_count"] == 2 and still_open["won_count"] == 0


def test_group_by_team_for_an_admin(pipeline, root):
    groups = selectors.summary_by(scope=scope_for(root, pipeline, **PERIOD), group_by="team")
    assert {g["label"]: g["won_count"] for g in groups} == {
        "Observability EMEA": 3,
        "Security APAC": 1,
    }


def test_group_by_product_and_source_name_the_empty_group(pipeline, carol):
    scope = scope_for(carol, pipeline, **PERIOD)
    products = {g["label"]: g for g in selectors.summary_by(scope=scope, group_by="product")}
    assert set(products) == {"APM", "SIEM", "No product"}
    assert products["APM"]["won_count"] == 2 and products["APM"]["open_count"] == 1
    assert products["No product"]["qualified_out_count"] == 1
    sources = {g["label"]: g for g in selectors.summary_by(scope=scope, group_by="source")}
    assert sources["Inbound"]["mttc_days"] == approx(35)
    assert sources["Outbound"]["won_count"] == 1
    assert sources["No source"]["lost_count"] == 1


def test_group_by_runs_three_queries_whatever_the_number_of_groups(
    pipeline, carol, django_assert_num_queries
):
    scope = scope_for(carol, pipeline, **PERIOD)
    # The grouped figures, the owners' names, and the won deals' durations for the percentiles
    # (aggregated by PostgreSQL, by percentiles_of on SQLite).
    with django_assert_num_queries(3):
        groups = selectors.summary_by(scope=scope, group_by="owner")
    assert len(groups) == 2
    alice = next(group for group in groups if group["mttc_count"] == 2)  # A (30) and B (12)
    assert alice["mttc_median_days"] == approx(21)


def test_unknown_grouping_is_refused(pipeline, carol):
    from epos.lib.errors import InvalidInput

    with pytest.raises(InvalidInput):
        selectors.summary_by(scope=scope_for(carol, pipeline), group_by="colour")


# --- funnel and time in stage ----------------------------------------------------------------


def by_stage(flows):
    return {flow.stage.name: flow for flow in flows}


def test_funnel_counts_reached_or_passed_with_skips_backward_moves_and_reopens(pipeline, carol):
    flows = by_stage(selectors.funnel(scope=scope_for(carol, pipeline, **PERIOD)))

    assert list(flows) == ["Discovery", "Demo", "Proposal", "Won"]
    # Discovery: A B C D E F G entered; E (qualified out) and G (still there) never moved on.
    assert (flows["Discovery"].entered, flows["Discovery"].converted) == (7, 5)
    # Demo: A C D F entered; D went back and lost, F is still there.
    assert (flows["Demo"].entered, flows["Demo"].converted) == (4, 2)
    assert flows["Demo"].conversion_rate == approx(0.5)
    # Proposal: B skipped into it; C came back to it after a win.
    assert (flows["Proposal"].entered, flows["Proposal"].converted) == (3, 3)
    assert flows["Won"].entered == 3  # C entered Won twice, counted once


def test_funnel_period_counts_entries_not_later_moves(pipeline, carol):
    # Only entries from d50 on: F's Discovery (d50) and Demo (d60), G's Discovery (d100).
    flows = by_stage(
        selectors.funnel(scope=scope_for(carol, pipeline, closed_after=day(50).isoformat()))
    )
    assert (flows["Discovery"].entered, flows["Discovery"].converted) == (2, 1)
    assert (flows["Demo"].entered, flows["Demo"].converted) == (1, 0)
    assert flows["Proposal"].entered == 0
    assert flows["Proposal"].conversion_rate is None


def test_time_in_stage_per_visit_with_open_visits_as_ageing(pipeline, carol):
    flows = by_stage(
        selectors.time_in_stage(scope=scope_for(carol, pipeline, **PERIOD), now=day(120))
    )

    assert list(flows) == ["Discovery", "Demo", "Proposal"]
    discovery = flows["Discovery"]  # visits of 10, 4, 5, 6, 2, 3 and 10 days
    assert discovery.completed_visits == 7
    assert discovery.mean_days == approx(40 / 7)
    assert discovery.median_days == approx(5)
    assert discovery.p90_days == approx(10)
    assert (discovery.open_visits, discovery.open_age_mean_days) == (1, approx(20))  # G
    assert discovery.open_over_target == 1  # 20 days against a 14-day target
    demo = flows["Demo"]  # 12, 10, 2 (before D went back), 10
    assert demo.completed_visits == 4
    assert demo.mean_days == approx(8.5)
    assert demo.median_days == approx(10)
    assert demo.p90_days == approx(10 + 0.7 * 2)
    assert (demo.open_visits, demo.open_age_max_days) == (1, approx(60))  # F
    proposal = flows["Proposal"]  # 8, 8, 20
    assert proposal.mean_days == approx(12)
    assert proposal.median_days == approx(8)
    assert proposal.p90_days == approx(8 + 0.8 * 12)
    assert proposal.open_visits == 0 and proposal.open_age_mean_days is None


def test_time_in_stage_over_all_time_counts_every_completed_visit(pipeline, carol):
    # No period at all: the ended visits count as well as the open ones (a regression: an
    # unbounded period once left only the open visits).
    flows = by_stage(selectors.time_in_stage(scope=scope_for(carol, pipeline), now=day(120)))
    # The seven visits of the period, and I's 35 days in Discovery (d-45 to d-10) before it.
    assert flows["Discovery"].completed_visits == 8
    assert flows["Discovery"].mean_days == approx((40 + 35) / 8)
    assert flows["Discovery"].open_visits == 1
    assert (flows["Demo"].completed_visits, flows["Demo"].open_visits) == (4, 1)
    assert flows["Proposal"].completed_visits == 3


def test_time_in_stage_counts_visits_that_ended_in_the_period(pipeline, carol):
    # From d10: Discovery visits ending d10 (A, D's second) and d60 (F); Demo d20, d22.
    flows = by_stage(
        selectors.time_in_stage(
            scope=scope_for(carol, pipeline, closed_after=day(10).isoformat()), now=day(120)
        )
    )
    assert flows["Discovery"].completed_visits == 3
    assert flows["Discovery"].mean_days == approx((10 + 2 + 10) / 3)
    assert flows["Demo"].completed_visits == 3  # A (d22), C (d15), D (d20); D's d8 is before
    assert flows["Demo"].mean_days == approx((12 + 10 + 10) / 3)


def test_stage_flow_needs_a_process(pipeline, carol):
    from epos.lib.errors import InvalidInput

    with pytest.raises(InvalidInput, match="per process"):
        selectors.funnel(scope=selectors.metric_scope(user=carol, params={}))


# --- dwell shift --------------------------------------------------------------------------------


def test_dwell_shift_finds_the_stage_that_grew_and_its_share_of_the_mttc_change(pipeline, carol):
    scope = scope_for(carol, pipeline)
    report = selectors.dwell_shift(
        scope=scope, stages=selectors.process_stages(pipeline.process), now=day(120)
    )

    # Recent [d30, d120): A (30 days) and C (40). Baseline [d-150, d30): B (12) and I (35).
    assert (report.recent_won, report.baseline_won) == (2, 2)
    assert report.mttc_recent == approx(35) and report.mttc_baseline == approx(23.5)
    shifts = {shift.stage.name: shift for shift in report.stages}
    assert set(shifts) == {"Discovery", "Demo", "Proposal", "Won"}  # never in Lost
    assert shifts["Discovery"].recent_days == approx(7.5)
    assert shifts["Discovery"].baseline_days == approx(19.5)
    assert shifts["Demo"].change_days == approx(11)
    assert shifts["Demo"].change_pct is None  # no baseline time to compare with
    assert shifts["Proposal"].change_pct == approx(10 / 4)
    assert shifts["Won"].recent_days == approx(2.5)  # C sat in Won before reopening
    assert sum(shift.change_days for shift in report.stages) == approx(report.mttc_change)
    assert report.top.stage.name == "Demo"
    assert report.share_of_mttc_change(report.top) == approx(11 / 11.5)


# --- consistency, compliance, ESAT ------------------------------------------------------------


def test_consistency_counts_gated_forward_exits_only(pipeline, carol):
    result = selectors.consistency(scope=scope_for(carol, pipeline, **PERIOD))

    assert (result["exits"], result["compliant"]) == (11, 9)
    assert result["rate"] == approx(9 / 11)
    per_stage = {row["name"]: (row["exits"], row["compliant"]) for row in result["stages"]}
    assert per_stage == {"Discovery": (6, 4), "Demo": (2, 2), "Proposal": (3, 3)}


def test_compliance_outcomes_split_closed_deals_by_any_override(pipeline, carol):
    result = selectors.compliance_outcomes(scope=scope_for(carol, pipeline, **PERIOD))

    assert result["overridden"] == {"won": 1, "lost": 0, "win_rate": 1.0, "mttc_days": 12.0}
    compliant = result["compliant"]
    assert (compliant["won"], compliant["lost"]) == (2, 1)
    assert compliant["win_rate"] == approx(2 / 3)
    assert compliant["mttc_days"] == approx(35)


def test_esat_mean_and_share_of_four_and_five(pipeline, carol):
    result = selectors.esat(scope=scope_for(carol, pipeline, **PERIOD))

    assert result["answers"] == 4  # I's answer is before the period, H's is another team's
    assert result["mean_score"] == approx((5 + 3 + 4 + 2) / 4)
    assert result["satisfied_share"] == approx(0.5)
    stages = {row["name"]: row for row in result["stages"]}
    assert stages["Demo"]["mean_score"] == approx(11 / 3)
    assert stages["Demo"]["satisfied_share"] == approx(2 / 3)
    assert stages["Discovery"]["satisfied_share"] == 0


# --- pipeline and quotas ----------------------------------------------------------------------


def test_pipeline_by_stage_weights_by_the_stage_probability(pipeline, carol):
    rows = {
        row["name"]: row for row in selectors.pipeline_by_stage(scope=scope_for(carol, pipeline))
    }
    assert rows["Discovery"] == {
        **rows["Discovery"],
        "open_count": 1,
        "amount": 8_000,
        "weighted_amount": 1_600,
    }
    assert (rows["Demo"]["amount"], rows["Demo"]["weighted_amount"]) == (40_000, 16_000)
    assert "Proposal" not in rows


def make_quotas(pipeline, alice, bob, dave):
    year = {"period_start": date(2025, 1, 1), "period_end": date(2025, 12, 31)}
    Quota.objects.create(user=alice, kind="won_amount", target=Decimal("2000000"), **year)
    Quota.objects.create(
        user=bob,
        kind="won_amount",
        target=Decimal("100000"),
        period_start=date(2025, 1, 1),
        period_end=date(2025, 3, 31),
    )
    Quota.objects.create(
        user=alice,
        kind="qualified_opportunities",
        target=20,
        period_start=date(2025, 2, 1),
        period_end=date(2025, 2, 28),
    )
    Quota.objects.create(  # not current on 15 February
        user=alice,
        kind="qualified_opportunities",
        target=20,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 1, 31),
    )
    Quota.objects.create(user=dave, kind="won_amount", target=Decimal("500000"), **year)


def test_quota_attainment_credits_owner_and_account_executive(pipeline, carol, alice, bob, dave):
    make_quotas(pipeline, alice, bob, dave)

    rows = selectors.quota_attainment(user=carol, on=date(2025, 2, 15))

    assert [(row["name"], row["kind"]) for row in rows] == [
        ("Alice Archer", "qualified_opportunities"),
        ("Alice Archer", "won_amount"),
        ("Bob Baker", "won_amount"),
    ]  # dave is not in carol's teams
    qualified, alice_won, bob_won = rows
    assert qualified["achieved"] == 1  # F's clock started on 20 February
    assert qualified["attainment"] == approx(1 / 20)
    assert alice_won["achieved"] == approx(30_000)  # A and B; I was won in 2024
    assert bob_won["achieved"] == approx(30_000 + 99_000)  # C as owner, H as account executive
    assert bob_won["attainment"] == approx(1.29)


def test_quota_attainment_for_an_admin_includes_everyone(pipeline, root, alice, bob, dave):
    make_quotas(pipeline, alice, bob, dave)
    rows = selectors.quota_attainment(user=root, on=date(2025, 2, 15))
    dave_row = next(row for row in rows if row["user_id"] == dave.pk)
    assert dave_row["achieved"] == approx(99_000)
    assert len(rows) == 4


# --- drill-down ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("drill", "stage", "expected"),
    [
        ("won", None, ["A", "B", "C"]),
        ("lost", None, ["D"]),
        ("qualified_out", None, ["E"]),
        ("open", None, ["F", "G"]),
        ("stage_entered", "discovery", ["A", "B", "C", "D", "E", "F", "G"]),
        ("stage_converted", "demo", ["A", "C"]),
        ("stage_dropped", "demo", ["D", "F"]),
        ("stage_open", "demo", ["F"]),
        ("stage_completed", "proposal", ["A", "B", "C"]),
        ("stage_overridden", "discovery", ["B", "F"]),
        ("overridden", None, ["B"]),
        ("compliant", None, ["A", "C", "D"]),
    ],
)
def test_drilldown_lists_the_deals_behind_each_figure(pipeline, carol, drill, stage, expected):
    scope = scope_for(carol, pipeline, **PERIOD)
    stage = getattr(pipeline, stage) if stage else None
    assert names(selectors.drilldown(scope=scope, drill=drill, stage=stage)) == expected


def test_drilldown_narrows_to_a_group(pipeline, carol, bob):
    scope = scope_for(carol, pipeline, **PERIOD)
    assert names(
        selectors.drilldown(scope=scope, drill="won", group_by="owner", key=str(bob.pk))
    ) == ["C"]
    assert names(
        selectors.drilldown(scope=scope, drill="won", group_by="month", key="2025-01")
    ) == [
        "A",
        "B",
    ]
    assert names(selectors.drilldown(scope=scope, drill="open", group_by="product", key="")) == [
        "G"
    ]


def test_drilldown_of_a_quota_lists_only_deals_the_user_may_see(
    pipeline, carol, root, alice, bob, dave
):
    make_quotas(pipeline, alice, bob, dave)
    quota = Quota.objects.get(user=bob)
    assert names(
        selectors.drilldown(scope=scope_for(root, pipeline), drill="quota", key=str(quota.pk))
    ) == ["C", "H"]
    assert names(
        selectors.drilldown(scope=scope_for(carol, pipeline), drill="quota", key=str(quota.pk))
    ) == ["C"]


def test_drilldown_refuses_a_quota_the_user_may_not_see(pipeline, carol, alice, bob, dave):
    from epos.lib.errors import InvalidInput

    make_quotas(pipeline, alice, bob, dave)
    hidden = Quota.objects.get(user=dave)
    with pytest.raises(InvalidInput):
        selectors.drilldown(scope=scope_for(carol, pipeline), drill="quota", key=str(hidden.pk))


@pytest.mark.parametrize("currencies", ["one", "mixed"])
def test_summary_sets_match_summary_and_summary_by(pipeline, root, currencies):
    # On PostgreSQL one GROUPING SETS query; elsewhere the separate selectors. Either way the
    # figures are those of the separate selectors, the currency of each group included.
    if currencies == "mixed":
        deal = pipeline.deals["G"]
        type(deal).objects.filter(pk=deal.pk).update(currency="EUR")
    scope = scope_for(root, pipeline, **PERIOD)
    names = ("month", "owner", "team", "product", "use_case", "segment", "source")
    overall, grouped = selectors.summary_sets(scope=scope, group_bys=names)

    def close(figures):
        # Sums may be added up in another order by another plan: equal to the last few bits.
        return {
            key: approx(value) if isinstance(value, float) else value
            for key, value in figures.items()
        }

    assert overall == close(selectors.summary(scope=scope))
    for name in names:
        separate = selectors.summary_by(scope=scope, group_by=name)
        assert grouped[name] == [close(group) for group in separate], name
    mixed = [group["label"] for group in grouped["owner"] if group["mixed_currencies"]]
    assert overall["mixed_currencies"] is (currencies == "mixed")
    assert mixed == ([_owner_label(pipeline.deals["G"])] if currencies == "mixed" else [])


def _owner_label(deal):
    return deal.owner.get_full_name() or deal.owner.username


def test_summary_sets_of_a_scope_without_deals(root):
    process, _ = factories.make_process()
    scope = selectors.metric_scope(user=root, params={"process": process.pk})
    overall, grouped = selectors.summary_sets(scope=scope, group_bys=("month", "owner"))
    assert overall == selectors.summary(scope=scope)
    assert (overall["won_count"], overall["open_count"], overall["currency"]) == (0, 0, None)
    assert overall["mixed_currencies"] is False
    assert grouped == {"month": [], "owner": []}
