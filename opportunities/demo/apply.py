"""Replaying the demo plan through the real services, in one transaction (see the package
docstring)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from epos.lib.roles import ADMIN, MANAGER, assign_role, ensure_role_groups
from epos.outbox import outbox_quiet
from opportunities import services
from opportunities.demo.plan import (
    DEFAULT_SEED,
    DEMO_PROCESS_SLUGS,
    EPOS_SLUG,
    PILOT_SLUG,
    DealPlan,
    DemoDataError,
    DemoPlan,
    ProcessShape,
    StageShape,
    build_plan,
)
from opportunities.models import (
    Account,
    Activity,
    ChecklistCompletion,
    Contact,
    EsatResponse,
    Opportunity,
    ProductGap,
    Qualification,
    StageTransition,
    Team,
)
from stages import rules
from stages.models import Process, Stage
from stages.process_templates import ProcessTemplate
from stages.services import process_as_template, process_create

DEMO_PASSWORD = "epos-demo"  # noqa: S105 - the published demo login, not a secret


# --- the processes the deals run on --------------------------------------------------------------


def process_shape(process: Process) -> ProcessShape:
    stages = []
    for stage in process.stages.prefetch_related("items").order_by("position"):
        items = list(stage.items.all())
        required = sum(1 for item in items if item.required)
        stages.append(
            StageShape(
                slug=stage.slug,
                name=stage.name,
                kind=stage.kind,
                position=stage.position,
                target_days=stage.target_days,
                is_optional=stage.is_optional,
                required_items=required,
                optional_items=len(items) - required,
            )
        )
    return ProcessShape(slug=process.slug, stages=tuple(stages))


def active_process(slug: str) -> Process:
    process = (
        Process.objects.filter(slug=slug, status=Process.Status.ACTIVE).order_by("-version").first()
    )
    if process is None:
        raise DemoDataError(f"No active process {slug!r}; run `manage.py load_processes` first.")
    return process


# The pilot's process: the EPOS playbook with shorter targets for discovery, the POC and the
# technical Q&A, and a POC agreed with its time box before it starts. A playbook of its own
# (one version of a slug is active at a time), derived from the baseline.
PILOT_NAME = "EPOS pre-sales: time-boxed POC"
PILOT_TARGET_DAYS = {"discovery": 10, "proof-of-concept": 14, "technical-qa": 10}
PILOT_REQUIRED_ITEMS = {"Time box and a customer-side owner agreed"}
PILOT_DESCRIPTION = (
    "The EPOS pre-sales playbook as piloted by a few SAs: the success criteria are written "
    "during discovery and every proof of concept is time-boxed to two weeks, with a "
    "customer-side owner."
)


def pilot_template(baseline: Process) -> ProcessTemplate:
    """The baseline's playbook as the pilot changes it."""
    template = process_as_template(baseline)
    stages = []
    for stage in template.stages:
        items = tuple(
            dataclasses.replace(item, required=True) if item.title in PILOT_REQUIRED_ITEMS else item
            for item in stage.items
        )
        target = PILOT_TARGET_DAYS.get(stage.slug, stage.target_days)
        stages.append(dataclasses.replace(stage, target_days=target, items=items))
    return dataclasses.replace(
        template,
        slug=PILOT_SLUG,
        name=PILOT_NAME,
        description=PILOT_DESCRIPTION,
        stages=tuple(stages),
    )


def pilot_process(baseline: Process) -> Process:
    """The pilot's process, active next to `baseline` (written once)."""
    existing = (
        Process.objects.filter(slug=PILOT_SLUG, status=Process.Status.ACTIVE)
        .order_by("-version")
        .first()
    )
    return existing or process_create(
        template=pilot_template(baseline),
        actor=None,
        status=Process.Status.ACTIVE,
        based_on=baseline,
    )


# --- replaying the plan through the services ---------------------------------------------


@dataclass
class _Context:
    now: datetime
    users: dict[str, object] = field(default_factory=dict)
    teams: list[Team] = field(default_factory=list)
    managers: dict[int, object] = field(default_factory=dict)  # team id -> manager
    accounts: list[Account] = field(default_factory=list)
    processes: dict[str, Process] = field(default_factory=dict)
    stages: dict[tuple[str, str], Stage] = field(default_factory=dict)
    required: dict[int, list] = field(default_factory=dict)  # stage id -> required items
    optional: dict[int, list] = field(default_factory=dict)  # stage id -> optional items
    backdated: list[ChecklistCompletion] = field(default_factory=list)
    backdated_gaps: list[ProductGap] = field(default_factory=list)


def _apply_people(plan: DemoPlan, ctx: _Context) -> None:
    ensure_role_groups()
    User = get_user_model()
    # One hash for everyone: PBKDF2 is slow on purpose, and the demo password is public anyway.
    password = make_password(DEMO_PASSWORD)
    for team_plan in plan.teams:
        team, _ = Team.objects.get_or_create(
            name=team_plan.name, defaults={"region": team_plan.region}
        )
        ctx.teams.append(team)
    for user_plan in plan.users:
        user, _ = User.objects.get_or_create(
            username=user_plan.username,
            defaults={
                "first_name": user_plan.first_name,
                "last_name": user_plan.last_name,
                "email": user_plan.email,
                "password": password,
                "is_staff": user_plan.role == ADMIN,
                "is_superuser": user_plan.role == ADMIN,
            },
        )
        assign_role(user, user_plan.role)
        if user_plan.team is not None:
            team = ctx.teams[user_plan.team]
            if user_plan.role == MANAGER:
                team.managers.add(user)
                ctx.managers[team.pk] = user
            else:
                team.members.add(user)
        ctx.users[user_plan.username] = user


def _apply_accounts(plan: DemoPlan, ctx: _Context) -> None:
    actor = ctx.users["admin"]
    for account_plan in plan.accounts:
        account = services.account_create(
            actor=actor,
            name=account_plan.name,
            industry=account_plan.industry,
            segment=account_plan.segment,
            customer_type=account_plan.customer_type,
            ownership=account_plan.ownership,
            employees=account_plan.employees,
            country=account_plan.country,
            city=account_plan.city,
            has_own_infrastructure=account_plan.has_own_infrastructure,
            business_context=account_plan.business_context,
            team=ctx.teams[account_plan.team],
        )
        for contact in account_plan.contacts:
            services.contact_create(
                actor=actor,
                account=account,
                name=contact.name,
                email=contact.email,
                title=contact.title,
                level=contact.level,
                is_decision_maker=contact.is_decision_maker,
                is_champion=contact.is_champion,
            )
        account.created_at = account_plan.created_at
        ctx.accounts.append(account)
    # auto_now_add stamped them "now"; the story starts 18 months ago.
    Account.objects.bulk_update(ctx.accounts, ["created_at"])


def _apply_processes(ctx: _Context) -> None:
    processes = {slug: active_process(slug) for slug in DEMO_PROCESS_SLUGS}
    processes[PILOT_SLUG] = pilot_process(processes[EPOS_SLUG])
    for slug, process in processes.items():
        ctx.processes[slug] = process
        for stage in process.stages.prefetch_related("items").order_by("position"):
            ctx.stages[(slug, stage.slug)] = stage
            items = sorted(stage.items.all(), key=lambda item: (item.position, item.pk))
            for item in items:
                item.stage = stage  # spares checklist_item_set a query per item
            ctx.required[stage.pk] = [item for item in items if item.required]
            ctx.optional[stage.pk] = [item for item in items if not item.required]


def _tick(ctx, opportunity, items, actor, start, end, done: set[int]) -> None:
    todo = [item for item in items if item.pk not in done]
    for number, item in enumerate(todo, start=1):
        completion = services.checklist_item_set(
            opportunity=opportunity, item=item, actor=actor, done=True
        )
        completion.done_at = start + (end - start) * number / (len(todo) + 1)
        ctx.backdated.append(completion)
        done.add(item.pk)


def _apply_deal(deal: DealPlan, ctx: _Context) -> Opportunity:
    owner = ctx.users[deal.owner]
    process = ctx.processes[deal.process]
    account = ctx.accounts[deal.account]
    team = ctx.teams[deal.team]
    opportunity = services.opportunity_create(
        actor=owner,
        process=process,
        name=deal.name,
        account=account,
        owner=owner,
        team=team,
        amount=deal.amount,
        product=deal.product,
        use_case=deal.use_case,
        source=deal.source,
        approach=deal.approach,
        expected_close_date=deal.expected_close_date,
        created_at=deal.created_at,
    )
    if deal.qualification:
        services.qualification_update(
            opportunity=opportunity, actor=owner, **dict(deal.qualification)
        )
    current = opportunity.stage
    entered = deal.created_at
    done: set[int] = set()
    for move in deal.moves:
        to_stage = ctx.stages[(deal.process, move.to_stage)]
        if rules.is_gated_exit(current, to_stage):
            required = ctx.required[current.pk]
            keep_open = required[len(required) - move.skip_required :] if move.skip_required else []
            ticked = [item for item in required if item not in keep_open]
            ticked += ctx.optional[current.pk][: move.optional_done]
            _tick(ctx, opportunity, ticked, owner, entered, move.at, done)
        overriding = bool(move.override_reason) and bool(ctx.required[current.pk])
        opportunity = services.opportunity_move_to_stage(
            opportunity=opportunity,
            to_stage=to_stage,
            actor=ctx.managers[team.pk] if overriding else owner,
            note=move.note,
            override_reason=move.override_reason,
            loss_reason=move.loss_reason,
            qualified_out=move.qualified_out,
            moved_at=move.at,
        )
        current, entered = to_stage, move.at
    if deal.current_items_done and current.kind == Stage.Kind.OPEN:
        items = ctx.required[current.pk][: deal.current_items_done]
        _tick(ctx, opportunity, items, owner, entered, ctx.now, done)
    for activity in deal.activities:
        # Synced activities are written by their sync job (no actor), as in production.
        services.activity_record(
            opportunity=opportunity,
            actor=owner if activity.source == Activity.Source.MANUAL else None,
            kind=activity.kind,
            occurred_at=activity.at,
            duration_minutes=activity.duration_minutes,
            summary=activity.summary,
            source=activity.source,
            external_id=activity.external_id,
        )
    for answer in deal.esat:
        # Answered through the survey link, which writes with no actor.
        services.esat_record(
            opportunity=opportunity,
            actor=None,
            score=answer.score,
            stage=ctx.stages[(deal.process, answer.stage)],
            comment=answer.comment,
            respondent_email=answer.respondent_email,
            received_at=answer.at,
            source=EsatResponse.Source.SURVEY,
        )
    for gap_plan in deal.gaps:
        gap = services.product_gap_create(
            opportunity=opportunity,
            actor=owner,
            title=gap_plan.title,
            severity=gap_plan.severity,
            description=gap_plan.description,
            status=gap_plan.status,
        )
        gap.created_at = gap_plan.at
        ctx.backdated_gaps.append(gap)
    return opportunity


def database_is_empty() -> bool:
    return not Opportunity.objects.exists()


def demo_seed(*, seed: int = DEFAULT_SEED, now: datetime | None = None) -> dict[str, object]:
    """Write the demo data for `seed` in one transaction and return what was created."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    ctx = _Context(now=now)
    # History replayed here is not news: its events are recorded as already delivered.
    with transaction.atomic(), outbox_quiet():
        _apply_processes(ctx)
        shapes = {slug: process_shape(ctx.processes[slug]) for slug in DEMO_PROCESS_SLUGS}
        plan = build_plan(seed=seed, now=now, processes=shapes)
        _apply_people(plan, ctx)
        _apply_accounts(plan, ctx)
        for deal in plan.deals:
            _apply_deal(deal, ctx)
        # The services stamp "now"; the plan knows when each item was really ticked.
        ChecklistCompletion.objects.bulk_update(ctx.backdated, ["done_at"], batch_size=500)
        ProductGap.objects.bulk_update(ctx.backdated_gaps, ["created_at"], batch_size=500)
    deals = Opportunity.objects.filter(account__in=ctx.accounts)
    outcomes = Counter(deals.values_list("outcome", flat=True))
    return {
        "users": len(ctx.users),
        "teams": len(ctx.teams),
        "accounts": len(ctx.accounts),
        "contacts": Contact.objects.filter(account__in=ctx.accounts).count(),
        "opportunities": sum(outcomes.values()),
        "outcomes": {outcome: outcomes.get(outcome, 0) for outcome in Opportunity.Outcome.values},
        "transitions": StageTransition.objects.filter(opportunity__in=deals).count(),
        "overrides": StageTransition.objects.filter(opportunity__in=deals)
        .exclude(override_reason="")
        .count(),
        "activities": Activity.objects.filter(opportunity__in=deals).count(),
        "esat_responses": EsatResponse.objects.filter(opportunity__in=deals).count(),
        "product_gaps": ProductGap.objects.filter(opportunity__in=deals).count(),
        "qualifications": Qualification.objects.filter(opportunity__in=deals).count(),
        # What the metrics demo needs to start the pilot these deals ran in.
        "pilot": plan.pilot,
        "pilot_process": ctx.processes[PILOT_SLUG],
        "baseline_process": ctx.processes[EPOS_SLUG],
    }
