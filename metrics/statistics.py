"""Is the pilot process better? Tests, intervals and sample sizes for a pilot's two arms.

The arms (and the per-deal MTTC values) come from `metrics.selectors.pilot_arms`; this module
only does the statistics, with numpy and scipy:

- MTTC: difference of the mean MTTC (pilot minus control) with a percentile bootstrap 95 %
  interval (each arm resampled on its own, a fixed seed so a page shows the same interval on
  every load), and the Mann–Whitney U test's two-sided p-value (deal durations are skewed, so a
  rank test rather than a t-test).
- Win rate: Fisher's exact test on the 2×2 table won/lost × pilot/control.
- Power: how many closed deals each arm needs for an 80 % chance of detecting the target
  effect at a 5 % two-sided level. See `mttc_sample_size` and `win_rate_sample_size`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from metrics.models import Pilot

ALPHA = 0.05
POWER = 0.80
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 20240601
BOOTSTRAP_CHUNK = 500
# Asymptotic relative efficiency of the Mann–Whitney test against the t-test for normal data
# (3/π): the rank test needs about 1/0.955 times the t-test's sample.
MANN_WHITNEY_EFFICIENCY = 3 / math.pi
# Spread of log MTTC assumed while fewer than three deals have closed: a coefficient of
# variation of about 1.3, usual for sales cycles.
ASSUMED_LOG_SD = 1.0
MIN_DEALS_PER_ARM = 2


def _mean_difference(pilot, control, axis):
    return np.mean(pilot, axis=axis) - np.mean(control, axis=axis)


def bootstrap_mean_difference_ci(
    pilot: np.ndarray, control: np.ndarray, *, confidence: float = 0.95
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of mean(pilot) - mean(control), by `scipy.stats.bootstrap`
    (each arm resampled on its own; a fixed seed, so a page shows the same interval on every
    load; batches keep memory at batch × deals instead of resamples × deals)."""
    if len(pilot) < MIN_DEALS_PER_ARM or len(control) < MIN_DEALS_PER_ARM:
        return None
    from scipy import stats  # loaded on the pilot page only: it adds ~75 MB to a web worker

    result = stats.bootstrap(
        (np.asarray(pilot, dtype=float), np.asarray(control, dtype=float)),
        _mean_difference,
        n_resamples=BOOTSTRAP_RESAMPLES,
        batch=BOOTSTRAP_CHUNK,
        vectorized=True,
        paired=False,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)


def mann_whitney_p(pilot: np.ndarray, control: np.ndarray) -> float | None:
    if len(pilot) < MIN_DEALS_PER_ARM or len(control) < MIN_DEALS_PER_ARM:
        return None
    from scipy import stats  # loaded on the pilot page only: it adds ~75 MB to a web worker

    return float(stats.mannwhitneyu(pilot, control, alternative="two-sided").pvalue)


def fisher_exact(won_pilot: int, lost_pilot: int, won_control: int, lost_control: int):
    """(odds ratio, two-sided p) or None when an arm has no closed deal."""
    if won_pilot + lost_pilot == 0 or won_control + lost_control == 0:
        return None
    from scipy import stats

    result = stats.fisher_exact([[won_pilot, lost_pilot], [won_control, lost_control]])
    return float(result.statistic), float(result.pvalue)


def _z(alpha: float = ALPHA, power: float = POWER) -> tuple[float, float]:
    from scipy import stats

    return float(stats.norm.ppf(1 - alpha / 2)), float(stats.norm.ppf(power))


def log_sd(*samples: np.ndarray) -> tuple[float, bool]:
    """Pooled standard deviation of log MTTC over the arms, and whether it was estimated (True)
    or assumed because fewer than three deals have closed."""
    logs = [np.log(np.maximum(sample, 1e-6)) for sample in samples if len(sample) > 1]
    pooled_n = sum(len(values) for values in logs)
    if pooled_n - len(logs) < 2:
        return ASSUMED_LOG_SD, False
    pooled_variance = sum(((values - values.mean()) ** 2).sum() for values in logs) / (
        pooled_n - len(logs)
    )
    sd = math.sqrt(pooled_variance)
    return (sd if sd > 0 else ASSUMED_LOG_SD), sd > 0


def mttc_sample_size(target_change_pct: float, sd_log: float) -> int:
    """Won deals per arm for 80 % power to detect MTTC changing by `target_change_pct` %.

    MTTC is roughly log-normal, so a change of t % is a shift of ln(1 + t/100) in log MTTC, and
    the two-sample formula n = 2 (z₁₋α/₂ + z₁₋β)² σ² / δ² applies to the logs, σ being their
    pooled standard deviation. The Mann–Whitney test is invariant to the log and about 95.5 %
    as efficient as that t-test, so n is divided by its efficiency.
    """
    delta = abs(math.log1p(target_change_pct / 100))
    z_alpha, z_beta = _z()
    n = 2 * (z_alpha + z_beta) ** 2 * sd_log**2 / delta**2
    return max(MIN_DEALS_PER_ARM, math.ceil(n / MANN_WHITNEY_EFFICIENCY))


def win_rate_sample_size(control_rate: float, target_change_pts: float) -> int:
    """Closed deals per arm to detect a win rate `target_change_pts` points away from the
    control's (normal approximation for two proportions, which Fisher's test roughly matches)."""
    p1 = min(max(control_rate, 0.01), 0.99)
    p2 = min(max(p1 + target_change_pts / 100, 0.01), 0.99)
    if p1 == p2:
        p2 = min(p1 + 0.01, 0.99)
    z_alpha, z_beta = _z()
    mean = (p1 + p2) / 2
    numerator = (
        z_alpha * math.sqrt(2 * mean * (1 - mean))
        + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ) ** 2
    return max(MIN_DEALS_PER_ARM, math.ceil(numerator / (p1 - p2) ** 2))


@dataclass
class PilotComparison:
    pilot: Pilot
    arms: dict
    mttc_difference_days: float | None = None
    mttc_change_pct: float | None = None
    mttc_ci: tuple[float, float] | None = None
    mttc_p: float | None = None
    win_rate_difference_pts: float | None = None
    fisher: tuple[float, float] | None = None
    needed_per_arm: int | None = None
    spread_estimated: bool = True
    more_needed: dict = field(default_factory=dict)
    verdict: str = ""
    tone: str = "neutral"  # good | bad | wait | neutral, for the page's colour
    details: list[str] = field(default_factory=list)

    @property
    def more_needed_total(self) -> int:
        return sum(self.more_needed.values())


def compare(pilot: Pilot, arms: dict) -> PilotComparison:
    """Everything the pilot page shows, verdict included."""
    pilot_arm, control_arm = arms["pilot"], arms["control"]
    pilot_days = np.asarray(pilot_arm.mttc_days, dtype=float)
    control_days = np.asarray(control_arm.mttc_days, dtype=float)
    result = PilotComparison(pilot=pilot, arms=arms)
    if pilot_arm.mttc_mean is not None and control_arm.mttc_mean is not None:
        result.mttc_difference_days = pilot_arm.mttc_mean - control_arm.mttc_mean
        if control_arm.mttc_mean:
            result.mttc_change_pct = result.mttc_difference_days / control_arm.mttc_mean * 100
    result.mttc_ci = bootstrap_mean_difference_ci(pilot_days, control_days)
    result.mttc_p = mann_whitney_p(pilot_days, control_days)
    if pilot_arm.win_rate is not None and control_arm.win_rate is not None:
        result.win_rate_difference_pts = (pilot_arm.win_rate - control_arm.win_rate) * 100
    result.fisher = fisher_exact(pilot_arm.won, pilot_arm.lost, control_arm.won, control_arm.lost)

    target = float(pilot.target_value)
    if pilot.target_metric == Pilot.TargetMetric.MTTC_CHANGE_PCT:
        sd, result.spread_estimated = log_sd(pilot_days, control_days)
        result.needed_per_arm = mttc_sample_size(target, sd)
        have = {"pilot": len(pilot_days), "control": len(control_days)}
    else:
        control_rate = control_arm.win_rate if control_arm.win_rate is not None else 0.5
        result.needed_per_arm = win_rate_sample_size(control_rate, target)
        result.spread_estimated = control_arm.win_rate is not None
        have = {
            "pilot": pilot_arm.won + pilot_arm.lost,
            "control": control_arm.won + control_arm.lost,
        }
    result.more_needed = {arm: max(0, result.needed_per_arm - n) for arm, n in have.items()}
    result.verdict, result.details, result.tone = _verdict(result, target)
    return result


def _fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _target_text(pilot: Pilot, target: float) -> str:
    if pilot.target_metric == Pilot.TargetMetric.MTTC_CHANGE_PCT:
        return f"MTTC {target:+g} %"
    return f"win rate {target:+g} points"


def _verdict(result: PilotComparison, target: float) -> tuple[str, list[str], str]:
    """(verdict, detail lines, tone) for the pilot's target metric."""
    details = _detail_lines(result)
    target_text = _target_text(result.pilot, target)
    if result.pilot.target_metric == Pilot.TargetMetric.MTTC_CHANGE_PCT:
        verdict, tone = _mttc_verdict(result, target, target_text)
    else:
        verdict, tone = _win_rate_verdict(result, target, target_text)
    return verdict, details, tone


def _detail_lines(result: PilotComparison) -> list[str]:
    """One line per metric both arms have a figure for: MTTC, then win rate."""
    lines = [_mttc_line(result), _win_rate_line(result)]
    return [line for line in lines if line is not None]


def _mttc_line(result: PilotComparison) -> str | None:
    """The arms' mean MTTC, with the change, interval and p-value when known."""
    if result.mttc_difference_days is None:
        return None
    pilot_arm, control_arm = result.arms["pilot"], result.arms["control"]
    line = (
        f"MTTC {pilot_arm.mttc_mean:.1f} days in the pilot arm against "
        f"{control_arm.mttc_mean:.1f} in the control arm"
    )
    if result.mttc_change_pct is not None:
        line += f" ({result.mttc_change_pct:+.0f} %)"
    if result.mttc_ci is not None:
        low, high = result.mttc_ci
        line += f"; 95 % CI of the difference {low:+.1f} to {high:+.1f} days"
    if result.mttc_p is not None:
        line += f"; Mann–Whitney {_fmt_p(result.mttc_p)}"
    return line + "."


def _win_rate_line(result: PilotComparison) -> str | None:
    """The arms' win rates, with Fisher's p-value when known."""
    if result.win_rate_difference_pts is None:
        return None
    pilot_arm, control_arm = result.arms["pilot"], result.arms["control"]
    line = (
        f"Win rate {pilot_arm.win_rate:.0%} in the pilot arm against "
        f"{control_arm.win_rate:.0%} ({result.win_rate_difference_pts:+.0f} points)"
    )
    if result.fisher is not None:
        line += f"; Fisher's exact test {_fmt_p(result.fisher[1])}"
    return line + "."


def _not_enough_text(result: PilotComparison, target_text: str) -> str:
    """How many more closed deals each arm needs for 80 % power."""
    text = (
        f"Not enough closed deals yet: about {result.more_needed_total} more needed for 80 % "
        f"power to detect the target ({target_text}): {result.more_needed['pilot']} in the "
        f"pilot arm, {result.more_needed['control']} in the control arm."
    )
    if not result.spread_estimated:
        text += " (The spread is assumed until more deals close.)"
    return text


def _target_sentence(met: bool, target_text: str) -> str:
    if met:
        return f"That meets the target ({target_text})."
    return f"That falls short of the target ({target_text})."


def _significant_tone(met: bool, improved: bool) -> str:
    """Good when the target is met; a significant change the wrong way is bad."""
    if met:
        return "good"
    return "neutral" if improved else "bad"


def _mttc_is_significant(result: PilotComparison) -> bool:
    """Mann–Whitney below ALPHA and a bootstrap interval that excludes zero."""
    return (
        result.mttc_p is not None
        and result.mttc_p < ALPHA
        and result.mttc_ci is not None
        and (result.mttc_ci[0] > 0 or result.mttc_ci[1] < 0)
    )


def _mttc_verdict(result: PilotComparison, target: float, target_text: str) -> tuple[str, str]:
    """(verdict, tone) when the target is a change of MTTC in %."""
    if _mttc_is_significant(result):
        faster = result.mttc_difference_days < 0
        change = result.mttc_change_pct or 0.0
        met = change <= target if target < 0 else change >= target
        verdict = (
            f"The pilot process closes deals {'faster' if faster else 'slower'}: MTTC "
            f"{change:+.0f} % ({_fmt_p(result.mttc_p)}). " + _target_sentence(met, target_text)
        )
        return verdict, _significant_tone(met, improved=faster)
    if result.more_needed_total > 0:
        return _not_enough_text(result, target_text), "wait"
    p_text = f" ({_fmt_p(result.mttc_p)})" if result.mttc_p is not None else ""
    return (
        f"No clear difference in MTTC{p_text}: the data do not show the pilot process "
        f"closing deals faster or slower, although the sample could have detected the "
        f"target ({target_text}).",
        "neutral",
    )


def _win_rate_verdict(result: PilotComparison, target: float, target_text: str) -> tuple[str, str]:
    """(verdict, tone) when the target is a change of win rate in points."""
    if result.fisher is not None and result.fisher[1] < ALPHA:
        difference = result.win_rate_difference_pts
        better = difference > 0
        met = difference >= target if target > 0 else difference <= target
        verdict = (
            f"The pilot process wins {'more' if better else 'fewer'} deals: "
            f"{difference:+.0f} points ({_fmt_p(result.fisher[1])}). "
            + _target_sentence(met, target_text)
        )
        return verdict, _significant_tone(met, improved=better)
    if result.more_needed_total > 0:
        return _not_enough_text(result, target_text), "wait"
    return (
        f"No clear difference in win rate: the sample could have detected the target "
        f"({target_text}) but does not show it.",
        "neutral",
    )
