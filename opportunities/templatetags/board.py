"""The board card, `{% board_card card %}`, rendered in Python.

A board shows up to 25 cards per column, a few hundred per page; through the template engine
each card cost about half a millisecond of CPU, most of the board's server time. This function
builds the same markup with explicit escaping in a few microseconds. It is the only place the
card's HTML lives (board, "Show more", the answer to a move, the stale-version dialog).
"""

from __future__ import annotations

import time
from html import escape

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from epos.templatetags.epos_ui import age_class, compact_money, display_name, initials
from opportunities.models import Opportunity
from stages.models import Stage

register = template.Library()

_USE_CASES = dict(Opportunity.UseCase.choices)
_DAY = 86400


@register.simple_tag
def board_card(card) -> SafeString:
    """`card` is an Opportunity from selectors.board_cards (or selectors.board_card) with `stage`
    set to a stage carrying `required_count`, and `can_edit` set by the view."""
    stage = card.stage
    pk = card.pk
    name = escape(card.name)
    can_edit = getattr(card, "can_edit", False)
    account = escape(card.account.name) if card.account_id else "No account"
    amount = "—" if card.amount is None else f"{compact_money(card.amount)} {escape(card.currency)}"
    parts = [
        f'<article class="card{"" if can_edit else " is-locked"}" id="card-{pk}" '
        f'role="listitem" data-opportunity-id="{pk}" data-version="{card.version}" '
        f'data-stage-id="{card.stage_id}">\n'
        f'<a class="card-title" href="/opportunities/{pk}/">{name}</a>\n'
        f'<p class="card-account">{account}</p>\n'
        f'<p class="card-row"><span class="amount">{amount}</span>'
    ]
    owner = card.owner if card.owner_id else None
    if owner is not None:
        parts.append(
            f'<span class="owner" title="Owner: {escape(display_name(owner))}">'
            f"{escape(initials(owner))}</span>"
        )
    parts.append('</p>\n<p class="card-row card-tags">')
    if stage.kind == Stage.Kind.OPEN:
        days = max(0, int((time.time() - card.stage_entered_at.timestamp()) // _DAY))
        target = stage.target_days
        title = f"{days} days in stage" + (f", target {target}" if target else "")
        parts.append(f'<span class="age {age_class(days, target)}" title="{title}">{days} d</span>')
        required = getattr(stage, "required_count", 0)
        if required:
            done = getattr(card, "checklist_done", 0)
            ready = " ready" if done >= required else ""
            parts.append(
                f'<span class="progress{ready}" title="Required items done">'
                f"✓ {done}/{required}</span>"
            )
    upcoming = getattr(card, "next_activity_at", None)
    if upcoming is not None:
        when = timezone.localtime(upcoming)
        parts.append(
            f'<span class="next-activity" title="Next activity: {when:%a %d %b %Y, %H:%M}">'
            f"Next {when.day} {when:%b}</span>"
        )
    parts.append(
        f'<span class="uc uc-{escape(card.use_case)}">'
        f"{escape(_USE_CASES.get(card.use_case, card.use_case))}</span>"
    )
    if can_edit:
        parts.append(
            '<button type="button" class="move-to" data-move-menu aria-haspopup="dialog" '
            f'aria-label="Move {name} to…">Move to…</button>'
        )
    parts.append("</p>\n</article>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped or numeric
