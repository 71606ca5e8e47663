"""Template helpers for every EPOS page: safe markdown, people, money, stage ageing, navigation.

Project-wide, so it knows no domain app (tests/epos/test_layers.py): a tag that needs one lives
in that app's own library, as the board card does in `opportunities/templatetags/board.py`.
"""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.template import TemplateDoesNotExist
from django.template.defaultfilters import floatformat
from django.utils import timezone

from epos.lib.markdown import render_markdown

register = template.Library()

# The project's one markdown policy (epos.lib.markdown).
register.filter("markdown", render_markdown)


@register.filter
def display_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


@register.filter
def initials(user) -> str:
    if user is None:
        return ""
    first, last = (user.first_name or "").strip(), (user.last_name or "").strip()
    if first or last:
        return f"{first[:1]}{last[:1]}".upper()
    return user.username[:2].upper()


@register.filter
def compact_money(amount) -> str:
    """12500 -> "12.5k", 1250000 -> "1.25M": short enough for a card or a column header."""
    if amount in (None, ""):
        return "0"
    value = Decimal(amount)
    for threshold, suffix in ((Decimal(1_000_000_000), "B"), (Decimal(1_000_000), "M")):
        if abs(value) >= threshold:
            return f"{value / threshold:.2f}".rstrip("0").rstrip(".") + suffix
    if abs(value) >= 1000:
        return f"{value / 1000:.1f}".rstrip("0").rstrip(".") + "k"
    return f"{value:.0f}"


@register.filter
def deal_amount(opportunity, digits: str = "0g") -> str:
    """A deal's amount with its currency ("12,500 USD"), or "—" when it is not known."""
    if opportunity.amount is None:
        return "—"
    return f"{floatformat(opportunity.amount, digits)} {opportunity.currency}"


@register.filter
def days_since(moment) -> int:
    if moment is None:
        return 0
    return max(0, (timezone.now() - moment).days)


@register.simple_tag
def age_class(days: int, target_days: int | None) -> str:
    """ok under 80 % of the stage's target dwell, due up to it, over past it."""
    if not target_days:
        return "age-none"
    if days > target_days:
        return "age-over"
    if days * 5 >= target_days * 4:
        return "age-due"
    return "age-ok"


@register.simple_tag(takes_context=True)
def include_if_exists(context, template_name: str, **values):
    """Like {% include %} but renders nothing while the template does not exist yet.

    Other apps fill slots of the opportunity page (recommended building blocks, discovery);
    the page must render before they ship. Only the slot's own absence is forgiven: a missing
    template *inside* it still raises.
    """
    try:
        slot = context.template.engine.get_template(template_name)
    except TemplateDoesNotExist as exc:
        if exc.args and exc.args[0] == template_name:
            return ""
        raise
    with context.push(**values):
        return slot.render(context)


@register.filter
def startswith(value, prefix) -> bool:
    return str(value or "").startswith(str(prefix))


_SECTIONS = (
    ("/board/", "board"),
    ("/opportunities/", "opportunities"),
    ("/blocks/", "blocks"),
    # The discovery catalog and training paths have top entries of their own (and stay tabs
    # of the building-block pages).
    ("/catalog/", "catalog"),
    ("/training/", "training"),
    ("/dashboards/", "dashboards"),
    ("/pilots/", "pilots"),
    ("/workload/", "workload"),
    ("/imports/", "imports"),
)


@register.simple_tag
def nav_section(path: str) -> str:
    """Which top-navigation entry a path belongs to (for aria-current)."""
    if path == "/":
        return "board"
    if path.startswith("/accounts/"):
        # /accounts/ is also where login and the password change live.
        rest = path[len("/accounts/") :]
        return "accounts" if rest == "" or rest[:1].isdigit() or rest.startswith("new") else ""
    for prefix, section in _SECTIONS:
        if path.startswith(prefix):
            return section
    return ""


@register.filter
def bant_rows(form) -> list:
    """The four BANT answers of a qualification form, each with its note field."""
    names = ("budget", "authority", "need", "timeline")
    return [(form[name], form[f"{name}_note"]) for name in names]
