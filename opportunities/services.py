"""Every write to opportunities goes through these functions: one transaction each."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from django.core import signing
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from epos.lib.errors import Forbidden, InvalidInput, NotFound, StaleVersion
from epos.lib.figures import figures_changed_on_commit
from epos.lib.roles import ADMIN, MANAGER, has_role
from epos.outbox import outbox_publish
from opportunities import permissions, selectors
from opportunities.models import (
    Account,
    Activity,
    ChecklistCompletion,
    Contact,
    EsatInvitation,
    EsatResponse,
    Opportunity,
    ProductGap,
    Qualification,
    SavedView,
    StageTransition,
    Team,
)
from stages import rules
from stages.models import Process, Stage, StageItem

# Fields a user may change through opportunity_update; stage and outcome change only by a move.
EDITABLE_FIELDS = (
    "name",
    "account",
    "owner",
    "account_executive",
    "team",
    "amount",
    "currency",
    "product",
    "use_case",
    "source",
    "approach",
    "expected_close_date",
)


def _event_payload(opportunity: Opportunity, **extra) -> dict:
    return {
        "opportunity_id": opportunity.pk,
        "name": opportunity.name,
        "process_id": opportunity.process_id,
        "stage_id": opportunity.stage_id,
        "stage_name": opportunity.stage.name,
        "outcome": opportunity.outcome,
        "amount": None if opportunity.amount is None else str(opportunity.amount),
        "currency": opportunity.currency,
        "owner_id": opportunity.owner_id,
        "version": opportunity.version,
        **extra,
    }


def _check_can_edit(actor, opportunity: Opportunity) -> None:
    if actor is not None and not permissions.can_edit_opportunity(actor, opportunity):
        raise Forbidden("You may not change this opportunity.")


ASSIGNMENT = ("team", "owner", "account_executive")


def _default_team(actor, owner) -> Team | None:
    """The team a new deal of `owner` lands in: the owner's first team that the creator may
    assign (a manager creating for an SA: a team the manager manages)."""
    teams = Team.objects.filter(pk__in=permissions.visible_team_ids(owner))
    allowed = permissions.assignable_team_ids(actor) if actor is not None else None
    if allowed is not None:
        teams = teams.filter(pk__in=allowed)
    return teams.order_by("pk").first()


class AssignmentRefused(Forbidden):
    """A team, owner or account executive the actor may not give a deal (403; a form shows it
    as an error on the form)."""


def _check_assignment(actor, *, team, owner, account_executive, changing=()) -> None:
    problem = permissions.assignment_problem(
        actor, team=team, owner=owner, account_executive=account_executive, changing=changing
    )
    if problem:
        raise AssignmentRefused(problem)


def _process_rules(process_id: int) -> tuple[rules.ProcessRules, dict[int, Stage]]:
    stages = {stage.pk: stage for stage in selectors.process_stages(process_id)}
    return rules.ProcessRules.of(stages.values()), stages


def opportunity_create(
    *,
    actor,
    process: Process,
    name: str,
    stage: Stage | None = None,
    account: Account | None = None,
    owner=None,
    account_executive=None,
    team=None,
    amount: Decimal | int | str | None = None,
    currency: str = "USD",
    product: str = "",
    use_case: str = Opportunity.UseCase.OTHER,
    source: str = "",
    approach: str = "",
    expected_close_date=None,
    created_at=None,
) -> Opportunity:
    """Create a deal in its first stage (or `stage`) and record that entry as a transition."""
    if actor is not None:
        if not permissions.can_create_opportunity(actor):
            raise Forbidden("Your role may not create opportunities.")
        if owner is None:
            owner = actor
        if not has_role(actor, ADMIN, MANAGER) and owner.pk != actor.pk:
            raise Forbidden("An SA creates opportunities they own.")
    if process.status == Process.Status.DRAFT:
        raise InvalidInput(f"Process {process} is a draft; activate it before using it.")
    process_rules, stages = _process_rules(process.pk)
    if stage is None:
        stage = min(
            (s for s in stages.values() if s.kind == Stage.Kind.OPEN),
            key=lambda s: s.position,
            default=None,
        )
        if stage is None:
            raise InvalidInput(f"Process {process} has no open stage.")
    elif stage.process_id != process.pk:
        raise InvalidInput(f"Stage {stage.name!r} does not belong to process {process}.")
    entry = rules.RuleStage.of(stage)
    verdict = rules.judge_move(process_rules, from_stage=None, to_stage=entry)
    if verdict.problem:
        raise InvalidInput(verdict.problem)
    if team is None and owner is not None:
        team = _default_team(actor, owner)
    if actor is not None:
        _check_assignment(actor, team=team, owner=owner, account_executive=account_executive)

    now = created_at or timezone.now()
    with transaction.atomic():
        opportunity = Opportunity(
            name=name,
            account=account,
            process=process,
            stage=stage,
            owner=owner,
            account_executive=account_executive,
            team=team,
            amount=None if amount in (None, "") else Decimal(str(amount)),
            currency=currency,
            product=product,
            use_case=use_case,
            source=source,
            approach=approach,
            expected_close_date=expected_close_date,
            created_at=now,
            stage_entered_at=now,
            engaged_at=now if process_rules.clock_applies(entry) else None,
        )
        opportunity.full_clean()
        opportunity.save()
        StageTransition.objects.create(
            opportunity=opportunity,
            from_stage=None,
            to_stage=stage,
            moved_at=now,
            moved_by=actor,
        )
        outbox_publish(topic="opportunity.created", payload=_event_payload(opportunity))
    return opportunity


def opportunity_update(
    *, opportunity: Opportunity, actor, expected_version: int | None = None, **changes
) -> Opportunity:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        locked = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        _check_can_edit(actor, locked)
        if expected_version is not None and expected_version != locked.version:
            raise StaleVersion(locked.version)
        changes = {
            field: value for field, value in changes.items() if _differs(locked, field, value)
        }
        if not changes:
            return locked  # nothing changed: no new version, so no one's edit goes stale
        if actor is not None and changes.keys() & {"team", "owner", "account_executive"}:
            after = {name: changes.get(name, getattr(locked, name)) for name in ASSIGNMENT}
            _check_assignment(actor, **after, changing=set(changes))
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.version += 1
        locked.full_clean()
        locked.save()
        figures_changed_on_commit()
    return locked


def _differs(instance, field_name: str, value) -> bool:
    field = instance._meta.get_field(field_name)
    if field.is_relation:
        return getattr(instance, field.attname) != (value.pk if value is not None else None)
    return getattr(instance, field_name) != value


def opportunity_delete(*, opportunity: Opportunity, actor) -> None:
    if actor is not None and not permissions.can_delete_opportunity(actor, opportunity):
        raise Forbidden("Only a manager of this team may delete an opportunity.")
    with transaction.atomic():
        opportunity.delete()
        figures_changed_on_commit()


def _closed_from(opportunity_id: int, process_rules, stages: dict[int, Stage]) -> Stage | None:
    """The sales stage a closed deal closed from: where its last close started."""
    moves = (
        StageTransition.objects.filter(
            opportunity_id=opportunity_id, to_stage__kind__in=[Stage.Kind.WON, Stage.Kind.LOST]
        )
        .order_by("-moved_at", "-pk")
        .values_list("from_stage_id", "to_stage_id")
    )
    for from_id, to_id in moves:
        if from_id and rules.closes_from(process_rules, stages[from_id], stages[to_id]):
            return stages[from_id]
    return None


def opportunity_move_to_stage(
    *,
    opportunity: Opportunity | int,
    to_stage: Stage | int,
    actor,
    note: str = "",
    override_reason: str = "",
    loss_reason: str = "",
    expected_version: int | None = None,
    qualified_out: bool = False,
    moved_at=None,
) -> Opportunity:
    """The one way to change a deal's stage: lock the deal, ask the process's rules
    (`stages.rules`), write the deal and its transition, publish the event.

    `opportunity`: the deal, or its id: then it is read under the lock with the relations its
    representation prints (`selectors.OUTPUT_RELATIONS`), and an actor who may not see it gets
    NotFound, with no hint that it exists.
    `to_stage`: a stage of the deal's process, or its id (read with the process's stages).
    `expected_version` guards against a concurrent change: the row is locked, so of two moves
    with the same version exactly one wins. Refusals are typed: InvalidInput (400),
    LossReasonMissing (400), GateBlocked and StaleVersion (409), Forbidden (403), NotFound (404).
    """
    note, override_reason, loss_reason = note.strip(), override_reason.strip(), loss_reason.strip()
    with transaction.atomic():
        if isinstance(opportunity, Opportunity):
            locked = selectors.opportunity_for_update(opportunity.pk)
        else:
            locked = selectors.opportunity_for_update(
                opportunity, relations=selectors.OUTPUT_RELATIONS
            )
            if locked is not None and actor is not None:
                locked = locked if permissions.can_view_opportunity(actor, locked) else None
        if locked is None:
            raise NotFound("No Opportunity matches the given query.")
        _check_can_edit(actor, locked)
        process_rules, stages = _process_rules(locked.process_id)
        to_stage = stages.get(to_stage if isinstance(to_stage, int) else to_stage.pk)
        if to_stage is None:
            message = "That stage belongs to another process than this opportunity (or none)."
            raise InvalidInput(message, stage=[message])
        if expected_version is not None and expected_version != locked.version:
            raise StaleVersion(locked.version)
        from_stage = stages[locked.stage_id]
        leaving, entering = rules.RuleStage.of(from_stage), rules.RuleStage.of(to_stage)
        closed_from = None
        if locked.outcome != Opportunity.Outcome.OPEN:
            closed = _closed_from(locked.pk, process_rules, stages)
            closed_from = rules.RuleStage.of(closed) if closed else None
        verdict = rules.judge_move(
            process_rules,
            from_stage=leaving,
            to_stage=entering,
            outcome=locked.outcome,
            closed_from=closed_from,
            open_items=lambda stage_ids: selectors.open_required_items(
                locked.pk, process_id=locked.process_id, stage_ids=stage_ids
            ),
        )
        verdict.refuse(
            override_reason=override_reason,
            may_override=actor is None or permissions.can_override_gate(actor, locked),
            loss_reason=loss_reason,
            to_stage=entering,
        )

        # History is appended in time order: each visit ends where the next one starts. A
        # back-dated move may not go before the current visit; a clock a little behind the one
        # that wrote that visit (another web server) is taken to be at its start instead.
        if moved_at is not None and moved_at < locked.stage_entered_at:
            raise InvalidInput("A move cannot be dated before the deal entered its current stage.")
        now = moved_at or max(timezone.now(), locked.stage_entered_at)
        clock = rules.after_move(
            process_rules,
            rules.DealClock(locked.outcome, locked.engaged_at, locked.closed_at),
            to_stage=entering,
            at=now,
            qualified_out=qualified_out,
        )
        locked.stage, locked.stage_entered_at, locked.version = to_stage, now, locked.version + 1
        locked.outcome, locked.engaged_at, locked.closed_at = (
            clock.outcome,
            clock.engaged_at,
            clock.closed_at,
        )
        if to_stage.kind == Stage.Kind.LOST:
            locked.loss_reason = loss_reason
        elif clock.outcome != Opportunity.Outcome.LOST:
            locked.loss_reason = ""
        locked.save(
            update_fields=[
                "stage",
                "stage_entered_at",
                "version",
                "engaged_at",
                "outcome",
                "closed_at",
                "loss_reason",
                "updated_at",
            ]
        )
        transition = _append_transition(
            locked,
            stages=stages.values(),
            from_stage=from_stage,
            to_stage=to_stage,
            at=now,
            actor=actor,
            note=note,
            override_reason=override_reason if verdict.override_needed else "",
            unmet_items=verdict.unmet_payload,
        )
        _publish_move(locked, from_stage=from_stage, transition=transition, loss_reason=loss_reason)
    return locked


# One statement ends the visit that ends now (the deal's last transition: the row lock on the
# deal keeps a concurrent move from ending it too) and, moving on to an open or won stage,
# marks the entries into earlier open stages this move passes. Written out rather than built
# with Case/When: the ORM spent more CPU composing that expression than PostgreSQL running it,
# on every move. Only the table name (from the model) and placeholders are formatted in.
END_VISIT_SQL = """
UPDATE {table} SET
    left_at = COALESCE(left_at, %s),
    passed_at = CASE WHEN {passes} THEN %s ELSE passed_at END
WHERE opportunity_id = %s AND (left_at IS NULL OR {passes})
"""


def _append_transition(
    opportunity, *, stages, from_stage, to_stage, at, actor, note, override_reason, unmet_items
) -> StageTransition:
    """End the visit that ends now and record the new one (see END_VISIT_SQL)."""
    passed = [stage.pk for stage in stages if rules.passes(to_stage, stage)]
    passes = (
        f"(passed_at IS NULL AND to_stage_id IN ({', '.join(['%s'] * len(passed))}))"
        if passed
        else "FALSE"
    )
    moment = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        cursor.execute(
            END_VISIT_SQL.format(
                table=connection.ops.quote_name(StageTransition._meta.db_table), passes=passes
            ),
            [moment, *passed, moment, opportunity.pk, *passed],
        )
    return StageTransition.objects.create(
        opportunity=opportunity,
        from_stage=from_stage,
        to_stage=to_stage,
        moved_at=at,
        moved_by=actor,
        note=note,
        override_reason=override_reason,
        unmet_items=unmet_items,
    )


def _publish_move(opportunity, *, from_stage, transition, loss_reason) -> None:
    to_stage = transition.to_stage
    payload = _event_payload(
        opportunity,
        from_stage_id=from_stage.pk,
        from_stage_name=from_stage.name,
        to_stage_id=to_stage.pk,
        to_stage_name=to_stage.name,
        transition_id=transition.pk,
        moved_at=transition.moved_at.isoformat(),
    )
    outbox_publish(topic="opportunity.stage_changed", payload=payload)
    if to_stage.kind == Stage.Kind.WON:
        outbox_publish(topic="opportunity.won", payload=payload)
    elif to_stage.kind == Stage.Kind.LOST:
        outbox_publish(topic="opportunity.lost", payload={**payload, "loss_reason": loss_reason})


def visit_times(stages: Sequence[Stage], times: Sequence) -> list[tuple]:
    """(left_at, passed_at) of each transition of one deal, given the stages entered and the
    times, in history order: what StageTransition stores for writers that build rows in bulk
    (the importer, the bench generator) instead of moving the deal."""
    derived = []
    for index, (here, _) in enumerate(zip(stages, times, strict=True)):
        later = list(zip(stages[index + 1 :], times[index + 1 :], strict=True))
        left_at = later[0][1] if later else None
        passed_at = next((at for stage, at in later if rules.passes(stage, here)), None)
        derived.append((left_at, passed_at))
    return derived


RELINK_BATCH = 5000
RELINK_SQL = """
UPDATE {table} SET left_at = visits.next_at
FROM (
    SELECT id, LEAD(moved_at) OVER (PARTITION BY opportunity_id ORDER BY moved_at, id) AS next_at
    FROM {table} {where}
) AS visits
WHERE {table}.id = visits.id AND {distinct}
"""
PASSED_SQL = """
UPDATE {table} SET passed_at = (
    SELECT MIN(later.moved_at)
    FROM {table} AS later
    JOIN {stages} AS reached ON reached.id = later.to_stage_id
    JOIN {stages} AS here ON here.id = {table}.to_stage_id
    WHERE later.opportunity_id = {table}.opportunity_id
      AND (later.moved_at > {table}.moved_at
           OR (later.moved_at = {table}.moved_at AND later.id > {table}.id))
      AND reached.kind IN (%s, %s)
      AND reached.position > here.position
)
WHERE to_stage_id IN (SELECT id FROM {stages} WHERE kind = %s) {where}
"""


def transitions_relink(*, opportunity_ids=None) -> int:
    """Recompute the derived columns of `StageTransition` from the order of the transitions
    (`left_at`: each visit ends at the deal's next transition; `passed_at`: an open stage's
    entry is passed by the deal's first later entry into an open or won stage past it) for
    these opportunities, or for all; returns the number of rows whose visit end changed. For
    writers that insert or delete history rows outside `opportunity_move_to_stage`: data
    repairs, the benchmark's clean-up."""
    quote = connection.ops.quote_name
    table, stages = quote(StageTransition._meta.db_table), quote(Stage._meta.db_table)
    distinct = (
        f"{table}.left_at IS DISTINCT FROM visits.next_at"
        if connection.vendor == "postgresql"
        else f"{table}.left_at IS NOT visits.next_at"
    )
    if opportunity_ids is None:
        batches = [[]]
    else:
        ids = sorted(set(opportunity_ids))
        if not ids:
            return 0
        batches = [ids[start : start + RELINK_BATCH] for start in range(0, len(ids), RELINK_BATCH)]
    changed = 0
    kinds = [*rules.MOVING_ON, Stage.Kind.OPEN]
    with transaction.atomic(), connection.cursor() as cursor:
        for batch in batches:
            among = f"opportunity_id IN ({', '.join(['%s'] * len(batch))})" if batch else ""
            # Only table names (from the models) and placeholders are formatted in.
            ends = RELINK_SQL.format(
                table=table, where=f"WHERE {among}" if among else "", distinct=distinct
            )
            cursor.execute(ends, batch)
            changed += cursor.rowcount
            passes = PASSED_SQL.format(
                table=table, stages=stages, where=f"AND {among}" if among else ""
            )
            cursor.execute(passes, [*kinds, *batch])
    figures_changed_on_commit()
    return changed


def checklist_item_set(
    *,
    opportunity: Opportunity,
    item: StageItem,
    actor,
    done: bool,
    evidence_url: str = "",
    note: str = "",
) -> ChecklistCompletion:
    _check_can_edit(actor, opportunity)
    if item.stage.process_id != opportunity.process_id:
        raise InvalidInput("That checklist item belongs to another process.")
    with transaction.atomic():
        completion, _ = ChecklistCompletion.objects.select_for_update().get_or_create(
            opportunity=opportunity, item=item
        )
        if completion.done and not done and completion.auto_event_id and not note.strip():
            raise InvalidInput(
                "EPOS ticked this item from its evidence: say why you untick it (note)."
            )
        completion.done = done
        completion.done_at = timezone.now() if done else None
        completion.done_by = actor if done else None
        completion.evidence_url = evidence_url
        completion.note = note
        # The foreign keys are instances the caller already holds and the locked get_or_create
        # guarantees uniqueness: validating them again would cost three queries per tick.
        completion.full_clean(
            exclude=["opportunity", "item", "done_by"], validate_constraints=False
        )
        completion.save()
    return completion


# Who says where a record came from: the survey link, a sync job, an integration's key or an
# admin; a person writing by hand does not (`permissions.record_source`).
PROVENANCE = ("source", "received_at", "respondent_email", "external_id")


def _provenance(actor, via, *, given: dict, default: str) -> str:
    """The source a record gets; refuses provenance fields the writer may not set (400)."""
    fixed = permissions.record_source(actor, via)
    source = given.get("source") or ""
    if fixed is None:
        return source or default
    if source and source != fixed:
        raise InvalidInput(
            f"source is set by EPOS, not by the request: what you record here is {fixed!r}."
        )
    if fixed == permissions.MANUAL:
        named = [name for name in PROVENANCE[1:] if given.get(name)]
        if named:
            raise InvalidInput(
                f"{', '.join(named)} can only come from the survey link or an integration."
            )
    return fixed


def activity_record(
    *,
    opportunity: Opportunity,
    actor,
    kind: str,
    occurred_at=None,
    duration_minutes: int | None = None,
    summary: str = "",
    source: str = "",
    external_id: str = "",
    via=None,
) -> Activity:
    """Record an activity. `via`: the API key of the request, which may say where it came
    from (an integration's key); a person's activities are manual."""
    _check_can_edit(actor, opportunity)
    source = _provenance(
        actor,
        via,
        given={"source": source, "external_id": external_id},
        default=Activity.Source.MANUAL,
    )
    with transaction.atomic():
        activity = Activity(
            opportunity=opportunity,
            kind=kind,
            occurred_at=occurred_at or timezone.now(),
            duration_minutes=duration_minutes,
            summary=summary,
            source=source,
            external_id=external_id,
            created_by=actor,
        )
        activity.full_clean(exclude=["opportunity", "created_by"])
        activity.save()
        evidence_publish(
            "activity.recorded",
            opportunity,
            activity_id=activity.pk,
            kind=activity.kind,
            source=activity.source,
        )
    return activity


def evidence_publish(topic: str, opportunity: Opportunity, *, stage_id=None, **data) -> None:
    """Announce evidence a checklist item may be completed by (opportunities.automation), at
    `stage_id` (default: the deal's current stage)."""
    outbox_publish(
        topic=topic,
        payload={
            "opportunity_id": opportunity.pk,
            "stage_id": stage_id or opportunity.stage_id,
            **data,
        },
    )


def _esat_stage(opportunity: Opportunity, stage: Stage | None) -> Stage:
    stage = stage or opportunity.stage
    if stage.process_id != opportunity.process_id:
        raise InvalidInput("That stage belongs to another process.")
    return stage


def esat_record(
    *,
    opportunity: Opportunity,
    actor,
    score: int,
    stage: Stage | None = None,
    comment: str = "",
    respondent_email: str = "",
    received_at=None,
    source: str = "",
    via=None,
) -> EsatResponse:
    """Record an ESAT answer: from the survey link (no actor), an integration, an admin, or by
    hand (source "manual", received now, no respondent)."""
    _check_can_edit(actor, opportunity)
    source = _provenance(
        actor,
        via,
        given={
            "source": source,
            "received_at": received_at,
            "respondent_email": respondent_email,
        },
        default=EsatResponse.Source.MANUAL,
    )
    stage = _esat_stage(opportunity, stage)
    with transaction.atomic():
        response = EsatResponse(
            opportunity=opportunity,
            stage=stage,
            score=score,
            comment=comment,
            respondent_email=respondent_email,
            received_at=received_at or timezone.now(),
            source=source,
        )
        response.full_clean()
        response.save()
        outbox_publish(
            topic="esat.received",
            payload={
                "esat_response_id": response.pk,
                "opportunity_id": opportunity.pk,
                "stage_id": stage.pk,
                "score": score,
            },
        )
    return response


def product_gap_create(
    *,
    opportunity: Opportunity,
    actor,
    title: str,
    severity: str,
    description: str = "",
    status: str = ProductGap.Status.OPEN,
) -> ProductGap:
    _check_can_edit(actor, opportunity)
    gap = ProductGap(
        opportunity=opportunity,
        title=title,
        severity=severity,
        description=description,
        status=status,
        created_by=actor,
    )
    with transaction.atomic():
        gap.full_clean()
        gap.save()
        evidence_publish(
            "gap.recorded", opportunity, gap_id=gap.pk, severity=gap.severity, status=gap.status
        )
    return gap


# --- qualification ---------------------------------------------------------------------------

_BANT_POINTS = 15  # four answers: 60
_LEVEL_POINTS = {
    Qualification.ContactLevel.EXECUTIVE: 10,
    Qualification.ContactLevel.MANAGEMENT: 10,
    Qualification.ContactLevel.TECHNICAL: 5,
    Qualification.ContactLevel.OPERATIONS: 5,
}


def qualification_score(q: Qualification) -> tuple[int, str]:
    """Score a qualification 0–100 and give a verdict.

    BANT carries 60 points (15 a "yes"); knowing whether the buyer is a person or a company, who
    we are talking to, and having written requirements carry the other 40, following the
    first-consultation checklist. Someone who only asks for a price is a price shopper whatever
    else is known, and an explicit "no" on need disqualifies.
    """
    bant = [q.budget, q.authority, q.need, q.timeline]
    score = sum(_BANT_POINTS for answer in bant if answer == Qualification.Answer.YES)
    score += 10 if q.customer_type_known else 0
    score += _LEVEL_POINTS.get(q.contact_level, 0)
    score += 20 if q.written_requirements else 0
    if q.asks_only_for_price:
        return min(score, 20), Qualification.Verdict.PRICE_ONLY
    if q.need == Qualification.Answer.NO:
        return score, Qualification.Verdict.UNQUALIFIED
    if score >= 70:
        return score, Qualification.Verdict.QUALIFIED
    if score >= 40:
        return score, Qualification.Verdict.NURTURE
    return score, Qualification.Verdict.UNQUALIFIED


QUALIFICATION_FIELDS = (
    "budget",
    "budget_note",
    "authority",
    "authority_note",
    "need",
    "need_note",
    "timeline",
    "timeline_note",
    "customer_type_known",
    "contact_level",
    "written_requirements",
    "asks_only_for_price",
)


def qualification_update(*, opportunity: Opportunity, actor, **answers) -> Qualification:
    unknown = set(answers) - set(QUALIFICATION_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown qualification fields: {', '.join(sorted(unknown))}.")
    _check_can_edit(actor, opportunity)
    with transaction.atomic():
        qualification, _ = Qualification.objects.select_for_update().get_or_create(
            opportunity=opportunity
        )
        for field, value in answers.items():
            setattr(qualification, field, value)
        qualification.score, qualification.verdict = qualification_score(qualification)
        qualification.updated_by = actor
        qualification.full_clean()
        qualification.save()
        # The answers are evidence: "Need: a clear business need is stated" completes on need=yes.
        evidence_publish(
            "qualification.recorded",
            opportunity,
            **{
                field: getattr(qualification, field)
                for field in ("budget", "authority", "need", "timeline")
            },
            verdict=qualification.verdict,
            score=qualification.score,
        )
    return qualification


# --- accounts and contacts -------------------------------------------------------------------


def _check_account_editor(actor) -> None:
    if actor is not None and not permissions.can_edit_accounts(actor):
        raise Forbidden("Your role may not change accounts.")


def account_create(*, actor, name: str, **fields) -> Account:
    _check_account_editor(actor)
    account = Account(name=name, **fields)
    account.full_clean()
    account.save()
    return account


def account_update(*, account: Account, actor, **fields) -> Account:
    _check_account_editor(actor)
    with transaction.atomic():
        for field, value in fields.items():
            setattr(account, field, value)
        account.full_clean()
        account.save()
        figures_changed_on_commit()  # segments group the figures
    return account


def account_delete(*, account: Account, actor) -> None:
    if actor is not None and not permissions.can_delete_accounts(actor):
        raise Forbidden("Your role may not delete accounts.")
    with transaction.atomic():
        account.delete()
        figures_changed_on_commit()


def contact_delete(*, contact: Contact, actor) -> None:
    if actor is not None and not permissions.can_delete_accounts(actor):
        raise Forbidden("Your role may not delete contacts.")
    contact.delete()


def contact_create(*, actor, account: Account, name: str, **fields) -> Contact:
    _check_account_editor(actor)
    contact = Contact(account=account, name=name, **fields)
    contact.full_clean()
    contact.save()
    return contact


def contact_update(*, contact: Contact, actor, **fields) -> Contact:
    _check_account_editor(actor)
    for field, value in fields.items():
        setattr(contact, field, value)
    contact.full_clean()
    contact.save()
    return contact


__all__ = [
    "account_create",
    "account_delete",
    "account_update",
    "activity_record",
    "checklist_item_set",
    "contact_create",
    "contact_delete",
    "contact_update",
    "esat_invitation_answer",
    "esat_invitation_create",
    "esat_invitation_from_token",
    "esat_invitation_token",
    "esat_record",
    "evidence_publish",
    "opportunity_create",
    "opportunity_delete",
    "opportunity_move_to_stage",
    "opportunity_update",
    "product_gap_create",
    "qualification_update",
]


# --- records that hang off an opportunity (activities, ESAT answers, product gaps) ----------


def opportunity_record_update(*, instance, actor, via=None, **fields):
    """Edit an activity, ESAT answer or product gap: allowed to whoever may edit the deal, by
    the rules that applied when it was recorded (provenance, an ESAT stage of the deal's own
    process). A change that changes nothing writes nothing."""
    _check_can_edit(actor, instance.opportunity)
    if "opportunity" in fields and fields["opportunity"].pk != instance.opportunity_id:
        raise InvalidInput("A record cannot be moved to another opportunity.")
    fields = {name: value for name, value in fields.items() if _differs(instance, name, value)}
    provenance = [name for name in PROVENANCE if name in fields]
    fixed = permissions.record_source(actor, via) if provenance else None
    if fixed is not None and not (
        fixed != permissions.MANUAL
        and instance.source == fixed
        and fields.get("source", fixed) == fixed
    ):
        # Only the system that recorded it (or an admin) corrects where a record came from.
        raise InvalidInput(f"{', '.join(provenance)} stay as recorded.")
    if isinstance(instance, EsatResponse) and "stage" in fields:
        fields["stage"] = _esat_stage(instance.opportunity, fields["stage"])
    if not fields:
        return instance
    with transaction.atomic():
        for field, value in fields.items():
            setattr(instance, field, value)
        instance.full_clean()
        instance.save()
        figures_changed_on_commit()  # an ESAT score edited changes the ESAT figures
    return instance


def opportunity_record_delete(*, instance, actor) -> None:
    _check_can_edit(actor, instance.opportunity)
    with transaction.atomic():
        instance.delete()
        figures_changed_on_commit()


# --- ESAT survey invitations (one-time signed links, answered without login) ---------------

ESAT_SIGNING_SALT = "epos.esat-survey"
ESAT_LINK_MAX_AGE = timedelta(days=14)


def esat_invitation_token(invitation: EsatInvitation) -> str:
    """The signed token in the survey link: names the invitation and its nonce, stamped now."""
    return signing.TimestampSigner(salt=ESAT_SIGNING_SALT).sign_object(
        {"i": invitation.pk, "n": invitation.nonce}
    )


def esat_invitation_create(
    *,
    opportunity: Opportunity,
    actor,
    email: str,
    contact: Contact | None = None,
    stage: Stage | None = None,
    survey_url=None,
) -> EsatInvitation:
    """Invite a customer contact to rate the current stage's engagement.

    `survey_url(token) -> absolute URL` builds the link for the email; the email leaves only
    after commit, so a rolled-back invitation never reaches anyone.
    """
    _check_can_edit(actor, opportunity)
    stage = stage or opportunity.stage
    if stage.process_id != opportunity.process_id:
        raise InvalidInput("That stage belongs to another process.")
    if contact is not None and contact.account_id != opportunity.account_id:
        raise InvalidInput("That contact belongs to another account.")
    email = (email or (contact.email if contact else "")).strip()
    with transaction.atomic():
        invitation = EsatInvitation(
            opportunity=opportunity,
            stage=stage,
            contact=contact,
            email=email,
            nonce=secrets.token_hex(16),
            created_at=timezone.now(),
            created_by=actor,
        )
        invitation.full_clean()
        invitation.save()
        evidence_publish(
            "esat.sent", opportunity, stage_id=stage.pk, invitation_id=invitation.pk, email=email
        )
        invitation.survey_link = None
        if survey_url is not None:
            # Signed once, here: the link's timestamp is the invitation's, so it expires
            # ESAT_LINK_MAX_AGE after it was sent.
            link = survey_url(esat_invitation_token(invitation))
            invitation.survey_link = link
            transaction.on_commit(
                lambda: _send_esat_email(invitation=invitation, link=link, sender=actor)
            )
    return invitation


def _send_esat_email(*, invitation: EsatInvitation, link: str, sender) -> None:
    who = (sender.get_full_name() or sender.username) if sender is not None else "Your EPOS team"
    send_mail(
        subject=f"How did our {invitation.stage.name} session go?",
        message=(
            f"Hello,\n\n{who} would like to know how satisfied you are with the "
            f"{invitation.stage.name} stage of {invitation.opportunity.name}.\n"
            f"It takes under a minute, no login needed:\n\n{link}\n\n"
            f"The link works once and expires in {ESAT_LINK_MAX_AGE.days} days.\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
        fail_silently=True,
    )


class EsatLinkError(InvalidInput):
    """A survey link that cannot be answered; `reason` is expired / invalid / answered."""

    def __init__(self, message: str, reason: str):
        super().__init__(message, reason=reason)
        self.reason = reason


def esat_invitation_from_token(token: str) -> EsatInvitation:
    """The open invitation a survey token names, or EsatLinkError saying why not."""
    signer = signing.TimestampSigner(salt=ESAT_SIGNING_SALT)
    try:
        data = signer.unsign_object(token, max_age=ESAT_LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise EsatLinkError("This survey link has expired.", reason="expired") from exc
    except signing.BadSignature as exc:
        raise EsatLinkError("This survey link is not valid.", reason="invalid") from exc
    invitation = (
        EsatInvitation.objects.select_related("opportunity__account", "stage", "created_by")
        .filter(pk=data.get("i"), nonce=data.get("n"))
        .first()
    )
    if invitation is None:
        raise EsatLinkError("This survey link is not valid.", reason="invalid")
    if invitation.created_at + ESAT_LINK_MAX_AGE < timezone.now():
        raise EsatLinkError("This survey link has expired.", reason="expired")
    if invitation.is_answered:
        raise EsatLinkError("This survey has already been answered.", reason="answered")
    return invitation


def esat_invitation_answer(*, token: str, score: int, comment: str = "") -> EsatResponse:
    """Record the answer to a survey link, once: the invitation row is locked while answering."""
    invitation = esat_invitation_from_token(token)
    with transaction.atomic():
        locked = EsatInvitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.is_answered:
            raise EsatLinkError("This survey has already been answered.", reason="answered")
        response = esat_record(
            opportunity=invitation.opportunity,
            actor=None,
            score=score,
            stage=invitation.stage,
            comment=comment.strip(),
            respondent_email=invitation.email,
            source=EsatResponse.Source.SURVEY,
        )
        locked.answered_at = response.received_at
        locked.response = response
        locked.save(update_fields=["answered_at", "response"])
    return response


# --- saved views of the opportunity list ----------------------------------------------------

MAX_SAVED_VIEWS = 50


def saved_view_save(*, actor, name: str, query: str) -> SavedView:
    """Save the list's filters and sort (`query`, a query string) as `actor`'s view `name`;
    saving under a name the user already has replaces that view's query."""
    name = name.strip()
    view = SavedView(user=actor, name=name, query=query)
    view.full_clean(validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        mine = SavedView.objects.filter(user=actor)
        if not mine.filter(name=name).exists() and mine.count() >= MAX_SAVED_VIEWS:
            raise InvalidInput(
                f"You have {MAX_SAVED_VIEWS} saved views: delete one before saving another."
            )
        # update_or_create retries its read when a concurrent save of the same name wins the
        # unique constraint, so a double click saves one view, not an error.
        view, _ = SavedView.objects.update_or_create(
            user=actor, name=name, defaults={"query": query}
        )
    return view


def saved_view_delete(*, view: SavedView, actor) -> None:
    if view.user_id != actor.pk:
        raise Forbidden("That view belongs to someone else.")
    view.delete()
