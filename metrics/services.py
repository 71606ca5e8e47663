"""Every write of the metrics app: one transaction each."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from epos.lib.errors import Conflict, Forbidden, InvalidInput
from epos.lib.figures import figures_changed_on_commit
from epos.lib.roles import ADMIN, has_role
from metrics import permissions
from metrics.models import MetricSnapshot, Pilot, Quota, SaCapacity
from metrics.selectors import open_pipeline_by_stage_and_team, open_pipeline_on
from opportunities import permissions as opportunity_permissions
from stages.models import Process

logger = logging.getLogger(__name__)


def metric_snapshot_take(*, day: date | None = None) -> int:
    """Store today's open pipeline per process, stage and team; returns the rows written.

    Idempotent per day: a second run the same day replaces that day's rows, so a retried or
    doubled beat leaves one set. The unique constraints turn two overlapping runs into one
    failure (retried) instead of duplicates.
    """
    day = day or timezone.localdate()
    now = timezone.now()
    with transaction.atomic():
        MetricSnapshot.objects.filter(day=day).delete()
        rows = [
            MetricSnapshot(
                day=day,
                process_id=row["process_id"],
                stage_id=row["stage_id"],
                team_id=row["team_id"],
                open_count=row["open_count"],
                pipeline_amount=row["amount_total"].quantize(Decimal("0.01")),
                weighted_pipeline_amount=row["weighted"].quantize(Decimal("0.01")),
                taken_at=now,
            )
            for row in open_pipeline_by_stage_and_team()
        ]
        MetricSnapshot.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def metric_snapshot_backfill(*, days: int, today: date | None = None) -> int:
    """Rebuild the snapshots of the last `days` days that are missing, from the transitions
    (see `open_pipeline_on`: amounts are today's). For a new installation or an imported
    pipeline, so the history chart does not start empty. Days already stored are kept."""
    today = today or timezone.localdate()
    existing = set(MetricSnapshot.objects.values_list("day", flat=True).distinct())
    written = 0
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        if day in existing:
            continue
        end_of_day = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
        with transaction.atomic():
            rows = [
                MetricSnapshot(
                    day=day,
                    process_id=row["process_id"],
                    stage_id=row["stage_then"],
                    team_id=row["team_id"],
                    open_count=row["open_count"],
                    pipeline_amount=row["amount_total"].quantize(Decimal("0.01")),
                    weighted_pipeline_amount=row["weighted"].quantize(Decimal("0.01")),
                    taken_at=timezone.now(),
                )
                for row in open_pipeline_on(end_of_day)
            ]
            MetricSnapshot.objects.bulk_create(rows, batch_size=1000)
        written += len(rows)
    return written


def quota_set(
    *,
    actor,
    user,
    kind: str,
    period_start: date,
    period_end: date,
    target: Decimal | int | str,
) -> Quota:
    """Create or change the target of `user` for a period (one quota per kind and period)."""
    if actor is not None:
        if not permissions.can_manage_quotas(actor):
            raise Forbidden("Only managers and admins set quotas.")
        managed = opportunity_permissions.managed_team_ids(actor)
        if not has_role(actor, ADMIN) and not user.teams.filter(pk__in=managed).exists():
            raise Forbidden("A manager sets quotas for the members of the teams they manage.")
    with transaction.atomic():
        quota = (
            Quota.objects.select_for_update()
            .filter(user=user, kind=kind, period_start=period_start, period_end=period_end)
            .first()
        ) or Quota(user=user, kind=kind, period_start=period_start, period_end=period_end)
        quota.target = Decimal(str(target))
        quota.full_clean()
        quota.save()
        figures_changed_on_commit()
    return quota


def sa_capacity_set(*, actor, sa, weekly_hours: Decimal | int | str) -> SaCapacity:
    """Set the hours a week `sa` has for pre-sales work (0 to 80), the workload page's
    capacity. A manager of one of the SA's teams or an admin may; `actor` None is the system."""
    if actor is not None and not permissions.can_set_capacity(actor, sa):
        raise Forbidden("A manager sets the capacity of the SAs of the teams they manage.")
    try:
        hours = Decimal(str(weekly_hours).strip())
    except ArithmeticError:
        hours = None
    if hours is None or not hours.is_finite():
        raise InvalidInput(
            "Enter the hours as a number.", errors={"weekly_hours": [str(weekly_hours)]}
        )
    with transaction.atomic():
        capacity = SaCapacity.objects.select_for_update().filter(user=sa).first() or SaCapacity(
            user=sa
        )
        capacity.weekly_hours = hours
        capacity.updated_by = actor
        # The SA and the actor were just read: no need to look them up again.
        capacity.full_clean(exclude=["user", "updated_by"])
        capacity.save()
    return capacity


def pilot_create(
    *,
    actor,
    name: str,
    process: Process,
    baseline_process: Process,
    members: Iterable,
    starts_on: date,
    ends_on: date,
    hypothesis: str = "",
    target_metric: str = Pilot.TargetMetric.MTTC_CHANGE_PCT,
    target_value: Decimal | int | str = Decimal("-20"),
) -> Pilot:
    if actor is not None and not permissions.can_manage_pilots(actor):
        raise Forbidden("Only managers and admins start pilots.")
    members = list(members)
    if not members:
        raise InvalidInput("A pilot needs at least one member.", errors={"members": ["required"]})
    if process.status == Process.Status.DRAFT:
        raise InvalidInput(
            f"Process {process} is a draft: activate it so the members can run deals on it.",
            errors={"process": ["draft"]},
        )
    with transaction.atomic():
        pilot = Pilot(
            name=name.strip(),
            hypothesis=hypothesis.strip(),
            process=process,
            baseline_process=baseline_process,
            starts_on=starts_on,
            ends_on=ends_on,
            target_metric=target_metric,
            target_value=Decimal(str(target_value)),
            created_by=actor,
        )
        pilot.full_clean()
        pilot.save()
        pilot.members.set(members)
    logger.info("pilot.created id=%s by=%s", pilot.pk, getattr(actor, "pk", None))
    return pilot


def pilot_roll_out(*, pilot: Pilot, actor) -> Pilot:
    """Make the pilot's process the active version and retire the baseline.

    Other active versions of the pilot process's own playbook (same slug) retire too, so one
    version of it stays active. Opportunities keep the version they run on: history is never
    rewritten.
    """
    if actor is not None and not permissions.can_roll_out(actor):
        raise Forbidden("Only managers and admins roll a pilot out.")
    with transaction.atomic():
        locked = Pilot.objects.select_for_update().get(pk=pilot.pk)
        if locked.rolled_out_at is not None:
            raise Conflict("This pilot was already rolled out.")
        process = Process.objects.select_for_update().get(pk=locked.process_id)
        retired = _versions_to_retire(locked, process)
        Process.objects.filter(pk__in=retired).update(status=Process.Status.RETIRED)
        if process.status != Process.Status.ACTIVE:
            process.status = Process.Status.ACTIVE
            process.save(update_fields=["status"])
        locked.rolled_out_at = timezone.now()
        locked.rolled_out_by = actor
        locked.save(update_fields=["rolled_out_at", "rolled_out_by"])
    logger.info(
        "pilot.rolled_out id=%s process=%s retired=%s by=%s",
        locked.pk,
        process.pk,
        retired,
        getattr(actor, "pk", None),
    )
    return locked


def _versions_to_retire(pilot: Pilot, process: Process) -> list[int]:
    active = Process.objects.select_for_update().filter(status=Process.Status.ACTIVE)
    baseline = active.filter(pk=pilot.baseline_process_id).values_list("pk", flat=True)
    siblings = active.filter(slug=process.slug).exclude(pk=process.pk).values_list("pk", flat=True)
    return sorted({*baseline, *siblings})
