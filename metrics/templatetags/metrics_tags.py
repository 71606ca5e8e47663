"""Formatting of metric values on the dashboards (the CSV keeps the raw numbers)."""

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()

NONE = "—"


@register.filter
def metric(value, kind: str = "text"):
    if value is None or value == "":
        return NONE
    if kind == "int":
        return intcomma(int(value))
    if kind in ("days", "hours"):
        return f"{value:,.1f}"
    if kind == "pct":
        return f"{value * 100:.1f} %"
    if kind == "money":
        return intcomma(round(value))
    if kind == "number":
        return intcomma(round(value)) if abs(value) >= 100 else f"{value:g}"
    if kind == "score":
        return f"{value:.2f}"
    return value


@register.filter
def get(mapping, key):
    if not mapping:
        return None
    return mapping.get(key)


@register.filter
def signed_days(value):
    if value is None:
        return NONE
    return f"{value:+,.1f}"


@register.filter
def percent(value, digits: int = 0):
    if value is None:
        return NONE
    return f"{value * 100:.{int(digits)}f} %"


@register.filter
def get_share(report, shift):
    """The share of the MTTC change a stage's dwell change explains (DwellShiftReport)."""
    if report is None or shift is None:
        return None
    return report.share_of_mttc_change(shift)


@register.filter
def compact(value):
    """An amount short enough for a tile: 183,394 · 9.12M · 1.4B."""
    if value is None:
        return NONE
    for size, suffix in ((1e9, "B"), (1e6, "M")):
        if abs(value) >= size:
            return f"{value / size:,.2f}{suffix}"
    return intcomma(round(value))


@register.filter
def signed_pct(value):
    """A change already in percent: +48 %, −20 %."""
    if value is None:
        return NONE
    return f"{value:+.0f} %"


@register.filter
def odds(value):
    """An odds ratio; an arm without a lost (or won) deal makes it infinite (or zero)."""
    if value is None:
        return NONE
    if value == float("inf"):
        return "∞"
    return f"{value:.2f}"


@register.filter
def span(value):
    """A timedelta as people say it: "40 min", "5.5 h", "3.2 days"; "—" for none."""
    if value is None:
        return "—"
    minutes = value.total_seconds() / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"
