"""Bulk actions of the opportunity list: move the selected deals to a stage, or give them to
another owner.

Each deal goes through the one service for that write (`services.opportunity_move_to_stage`,
which asks `stages.rules`; `services.opportunity_update`, which asks
`permissions.assignment_problem`), in that service's own transaction: a refused deal is
reported with its reason and never undoes the deals that went through. There is deliberately no
transaction around the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from epos.lib.errors import DomainError, Forbidden, GateBlocked, InvalidInput, StaleVersion
from opportunities import selectors, services
from opportunities.models import Opportunity
from stages.models import Stage
from stages.rules import LossReasonMissing, OverrideNotAllowed

# A batch is a page or two of the list; more is a job for the API or an import.
BULK_LIMIT = 200

NOT_FOUND = "Not found: it does not exist or you may not see it."


@dataclass(frozen=True)
class Refusal:
    """A deal the action left as it was, and why in plain words. `opportunity` is None when
    the user may not see the deal: only the id they sent is repeated back."""

    opportunity_id: int
    opportunity: Opportunity | None
    reason: str


@dataclass
class BulkReport:
    action: str  # "move" or "reassign"
    target: str  # the stage, or the new owner's name
    done: list[Opportunity] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def requested(self) -> int:
        return len(self.done) + len(self.refused)


def _unmet_text(unmet_items: Sequence[dict]) -> str:
    by_stage: dict[str, list[str]] = {}
    for item in unmet_items:
        by_stage.setdefault(item.get("stage") or "", []).append(item["title"])
    return "; ".join(
        f"{stage}: {', '.join(titles)}" if stage else ", ".join(titles)
        for stage, titles in by_stage.items()
    )


def refusal_reason(exc: Exception, *, opportunity: Opportunity, to_stage: Stage | None) -> str:
    """What a refused write means for this deal, in the words a user acts on."""
    if isinstance(exc, LossReasonMissing):
        return f"A move to {to_stage.name} needs a loss reason: pick one and try again."
    if isinstance(exc, GateBlocked) and exc.extra.get("unmet_items"):
        unmet = _unmet_text(exc.extra["unmet_items"])
        return f"Required items are not done ({unmet}): tick them on the deal first."
    if isinstance(exc, OverrideNotAllowed):
        return "Its open required items need a manager's override."
    if isinstance(exc, StaleVersion):
        return "Someone changed it meanwhile: try again."
    if isinstance(exc, services.AssignmentRefused):
        return exc.message
    if isinstance(exc, Forbidden):
        return "You may not change this deal."
    if isinstance(exc, InvalidInput) and to_stage is not None:
        if to_stage.process_id != opportunity.process_id:
            return (
                f"It follows {opportunity.process.name}, and {to_stage.name} is a stage of "
                f"{to_stage.process.name}."
            )
        if to_stage.pk == opportunity.stage_id:
            return f"It is already in {to_stage.name}."
    return exc.message if isinstance(exc, DomainError) else " ".join(exc.messages)


def _each(
    *,
    actor,
    ids: Sequence[int],
    report: BulkReport,
    write: Callable[[Opportunity], None],
    to_stage: Stage | None = None,
) -> BulkReport:
    deals = selectors.opportunities_by_ids(user=actor, ids=ids)
    for pk in ids:
        deal = deals.get(pk)
        if deal is None:
            report.refused.append(Refusal(pk, None, NOT_FOUND))
            continue
        try:
            write(deal)
        except (DomainError, ValidationError) as exc:
            reason = refusal_reason(exc, opportunity=deal, to_stage=to_stage)
            report.refused.append(Refusal(pk, deal, reason))
        else:
            report.done.append(deal)
    return report


def opportunities_bulk_move(
    *, actor, ids: Sequence[int], to_stage: Stage, loss_reason: str = ""
) -> BulkReport:
    """Move each deal of `ids` to `to_stage` by the process's rules, one transaction each."""

    def move(deal: Opportunity) -> None:
        services.opportunity_move_to_stage(
            opportunity=deal, to_stage=to_stage, actor=actor, loss_reason=loss_reason
        )

    report = BulkReport(action="move", target=to_stage.name)
    return _each(actor=actor, ids=ids, report=report, write=move, to_stage=to_stage)


def opportunities_bulk_reassign(*, actor, ids: Sequence[int], owner) -> BulkReport:
    """Give each deal of `ids` to `owner`, by the one assignment rule, one transaction each.
    A deal `owner` already has counts as done."""

    def reassign(deal: Opportunity) -> None:
        services.opportunity_update(opportunity=deal, actor=actor, owner=owner)

    report = BulkReport(action="reassign", target=owner.get_full_name() or owner.username)
    return _each(actor=actor, ids=ids, report=report, write=reassign)
