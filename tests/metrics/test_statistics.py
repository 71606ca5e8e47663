"""Pilot statistics: sample sizes against textbook values, the bootstrap, and the verdicts."""

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from pytest import approx
from scipy import stats

from metrics import statistics
from metrics.models import Pilot
from metrics.selectors import PilotArm


def pilot(metric=Pilot.TargetMetric.MTTC_CHANGE_PCT, target="-20"):
    return Pilot(
        name="Trial",
        starts_on=date(2025, 1, 1),
        ends_on=date(2025, 6, 30),
        target_metric=metric,
        target_value=Decimal(target),
    )


def arm(name, days, won=None, lost=0):
    return PilotArm(
        name=name,
        opportunities=len(days) + lost,
        won=len(days) if won is None else won,
        lost=lost,
        mttc_days=list(days),
    )


def test_mttc_sample_size_for_a_20_percent_cut_with_unit_log_spread():
    # 2 (1.95996 + 0.84162)^2 / ln(0.8)^2 = 315.26 per arm for a t-test on the logs;
    # Mann-Whitney needs π/3 times that: 330.1, rounded up.
    assert statistics.mttc_sample_size(-20, 1.0) == 331


def test_mttc_sample_size_shrinks_with_the_spread_and_grows_for_smaller_effects():
    assert statistics.mttc_sample_size(-20, 0.5) == 83  # a quarter of 330.1, rounded up
    assert statistics.mttc_sample_size(-10, 1.0) > statistics.mttc_sample_size(-20, 1.0)


def test_win_rate_sample_size_matches_the_two_proportion_formula():
    # 50 % against 60 %: the classic 388 per group.
    assert statistics.win_rate_sample_size(0.5, 10) == 388


def test_bootstrap_interval_is_reproducible_and_brackets_the_observed_difference():
    rng = np.random.default_rng(1)
    pilot_days = rng.gamma(4, 5, 25)
    control_days = rng.gamma(4, 7, 30)
    first = statistics.bootstrap_mean_difference_ci(pilot_days, control_days)
    second = statistics.bootstrap_mean_difference_ci(pilot_days, control_days)
    assert first == second
    low, high = first
    assert low < pilot_days.mean() - control_days.mean() < high
    assert high < 0  # control is clearly slower here


def test_bootstrap_is_scipys_percentile_bootstrap_with_the_fixed_seed():
    rng = np.random.default_rng(7)
    pilot_days, control_days = rng.gamma(4, 5, 12), rng.gamma(4, 7, 15)

    ours = statistics.bootstrap_mean_difference_ci(pilot_days, control_days)

    theirs = stats.bootstrap(
        (pilot_days, control_days),
        lambda x, y, axis: x.mean(axis=axis) - y.mean(axis=axis),
        n_resamples=statistics.BOOTSTRAP_RESAMPLES,
        batch=statistics.BOOTSTRAP_CHUNK,
        paired=False,
        method="percentile",
        rng=np.random.default_rng(statistics.BOOTSTRAP_SEED),
    ).confidence_interval
    assert ours == (approx(theirs.low), approx(theirs.high))
    # By hand: the 2.5th and 97.5th percentiles of the resampled differences, which a
    # hand-written loop with another draw order lands close to.
    draws = np.random.default_rng(3)
    differences = [
        draws.choice(pilot_days, len(pilot_days)).mean()
        - draws.choice(control_days, len(control_days)).mean()
        for _ in range(4000)
    ]
    low, high = np.percentile(differences, [2.5, 97.5])
    assert ours[0] == approx(low, abs=1.5)
    assert ours[1] == approx(high, abs=1.5)


def test_bootstrap_needs_two_deals_per_arm():
    assert statistics.bootstrap_mean_difference_ci(np.array([3.0]), np.array([1.0, 2.0])) is None


def test_mann_whitney_and_fisher_are_scipys():
    pilot_days = np.array([5.0, 7, 9, 11, 30])
    control_days = np.array([8.0, 12, 15, 20, 25, 40])
    assert statistics.mann_whitney_p(pilot_days, control_days) == approx(
        stats.mannwhitneyu(pilot_days, control_days, alternative="two-sided").pvalue
    )
    odds, p = statistics.fisher_exact(8, 2, 3, 7)
    assert p == approx(stats.fisher_exact([[8, 2], [3, 7]]).pvalue)
    assert odds == approx((8 * 7) / (2 * 3))
    assert statistics.fisher_exact(0, 0, 3, 7) is None


def test_verdict_asks_for_more_deals_with_the_count_for_80_percent_power():
    arms = {"pilot": arm("pilot", [20, 30, 40]), "control": arm("control", [25, 35, 45])}
    result = statistics.compare(pilot(), arms)

    sd, estimated = statistics.log_sd(np.array([20.0, 30, 40]), np.array([25.0, 35, 45]))
    needed = statistics.mttc_sample_size(-20, sd)
    assert estimated
    assert result.needed_per_arm == needed
    assert result.more_needed == {"pilot": needed - 3, "control": needed - 3}
    assert result.verdict.startswith(
        f"Not enough closed deals yet: about {2 * (needed - 3)} more needed for 80 % power to "
        "detect the target (MTTC -20 %)"
    )
    assert result.tone == "wait"


def test_verdict_with_no_closed_deal_assumes_a_spread():
    result = statistics.compare(pilot(), {"pilot": arm("pilot", []), "control": arm("control", [])})
    assert result.mttc_ci is None and result.mttc_p is None
    assert result.more_needed_total == 2 * statistics.mttc_sample_size(-20, 1.0)
    assert "spread is assumed" in result.verdict


def test_verdict_when_the_pilot_is_clearly_faster_and_meets_the_target():
    rng = np.random.default_rng(3)
    arms = {
        "pilot": arm("pilot", rng.normal(10, 1, 40).clip(1)),
        "control": arm("control", rng.normal(20, 2, 40).clip(1)),
    }
    result = statistics.compare(pilot(), arms)

    assert result.mttc_p < 0.001
    assert result.mttc_ci[1] < 0
    assert result.mttc_change_pct == approx(-50, abs=5)
    assert result.verdict.startswith("The pilot process closes deals faster")
    assert "meets the target" in result.verdict
    assert result.tone == "good"


def test_verdict_when_the_pilot_is_slower():
    rng = np.random.default_rng(4)
    arms = {
        "pilot": arm("pilot", rng.normal(30, 2, 40).clip(1)),
        "control": arm("control", rng.normal(20, 2, 40).clip(1)),
    }
    result = statistics.compare(pilot(), arms)
    assert "closes deals slower" in result.verdict
    assert "falls short of the target" in result.verdict
    assert result.tone == "bad"


def test_verdict_of_no_difference_once_the_sample_is_large_enough():
    # Tight durations: a small sample already has the power to see a 20 % change.
    days = [10.0, 10.4, 9.6, 10.2, 9.8, 10.1, 9.9, 10.3, 9.7, 10.0]
    result = statistics.compare(
        pilot(), {"pilot": arm("pilot", days), "control": arm("control", list(reversed(days)))}
    )
    assert result.more_needed_total == 0
    assert result.verdict.startswith("No clear difference in MTTC")
    assert result.tone == "neutral"


def test_win_rate_target_uses_fisher_and_closed_deal_counts():
    arms = {
        "pilot": arm("pilot", [10, 12], won=40, lost=10),
        "control": arm("control", [11, 13], won=20, lost=30),
    }
    result = statistics.compare(pilot(Pilot.TargetMetric.WIN_RATE_CHANGE_PTS, "10"), arms)

    assert result.fisher[1] == approx(stats.fisher_exact([[40, 10], [20, 30]]).pvalue)
    assert result.win_rate_difference_pts == approx(40)
    assert result.verdict.startswith("The pilot process wins more deals: +40 points")
    assert "meets the target" in result.verdict


@pytest.mark.parametrize("target", ["-20", "-35"])
def test_target_text_is_part_of_the_verdict(target):
    result = statistics.compare(
        pilot(target=target), {"pilot": arm("pilot", [5, 6]), "control": arm("control", [7, 8])}
    )
    assert f"MTTC {target} %" in result.verdict
