"""What the metrics app stores: quotas, daily pipeline snapshots, process pilots and the weekly
capacity of each SA (for the workload page).

Every figure itself is computed on the fly by `metrics.selectors` from the event rows of the
opportunities app; these models only hold what cannot be recomputed later (yesterday's pipeline)
or what people decide (targets, pilots).
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from epos.lib.dates import sane_date_validators
from opportunities.models import Team
from stages.models import Process, Stage


class Quota(models.Model):
    """A per-person target for a period, e.g. $2M won a year, 20 qualified opportunities a month."""

    class Kind(models.TextChoices):
        WON_AMOUNT = "won_amount", "Won amount"
        QUALIFIED_OPPORTUNITIES = "qualified_opportunities", "Qualified opportunities"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quotas"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive.")
    target = models.DecimalField(max_digits=14, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "user_id", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "period_start", "period_end"], name="quota_unique_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="quota_period_order"
            ),
            models.CheckConstraint(condition=Q(target__gt=0), name="quota_target_positive"),
        ]
        indexes = [models.Index(fields=["period_start", "period_end"])]

    def __str__(self):
        return f"{self.user} {self.get_kind_display()} {self.period_start}–{self.period_end}"

    def clean(self):
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError({"period_end": "The period ends before it starts."})
        if self.target is not None and self.target <= 0:
            raise ValidationError({"target": "A target is a positive number."})
        if (
            self.kind == self.Kind.QUALIFIED_OPPORTUNITIES
            and self.target is not None
            and self.target != self.target.to_integral_value()
        ):
            raise ValidationError({"target": "A number of opportunities is a whole number."})


class MetricSnapshot(models.Model):
    """The open pipeline of one stage and team on one day, so its history can be charted.

    Open deals have no event that says "still open on day D", so the pipeline of a past day
    cannot be rebuilt from transitions and amounts edited since; a daily task writes these rows.
    A row per (day, stage, team) lets the history be filtered by process and by team and
    respects team-based visibility.
    """

    day = models.DateField()
    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="+")
    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    open_count = models.PositiveIntegerField(default=0)
    pipeline_amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    weighted_pipeline_amount = models.DecimalField(
        max_digits=16, decimal_places=2, default=Decimal("0")
    )
    taken_at = models.DateTimeField()

    class Meta:
        ordering = ["day", "process_id", "stage_id", "team_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["day", "stage", "team"],
                condition=Q(team__isnull=False),
                name="snapshot_unique_day_stage_team",
            ),
            models.UniqueConstraint(
                fields=["day", "stage"],
                condition=Q(team__isnull=True),
                name="snapshot_unique_day_stage_no_team",
            ),
        ]
        indexes = [models.Index(fields=["process", "day"])]

    def __str__(self):
        return f"{self.day} {self.stage_id}/{self.team_id}: {self.open_count}"


class Pilot(models.Model):
    """A trial of a new process version by a few SAs, compared with the baseline process.

    The pilot arm is the opportunities owned by a member, created in the window and run on
    `process`; the control arm is the opportunities created in the same window on
    `baseline_process`.
    """

    class TargetMetric(models.TextChoices):
        MTTC_CHANGE_PCT = "mttc_change_pct", "MTTC change (%)"
        WIN_RATE_CHANGE_PTS = "win_rate_change_pts", "Win rate change (percentage points)"

    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True)
    process = models.ForeignKey(Process, on_delete=models.PROTECT, related_name="pilots")
    baseline_process = models.ForeignKey(
        Process, on_delete=models.PROTECT, related_name="baseline_pilots"
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="pilots")
    starts_on = models.DateField(validators=sane_date_validators())
    ends_on = models.DateField(help_text="Inclusive.", validators=sane_date_validators())
    target_metric = models.CharField(
        max_length=20, choices=TargetMetric.choices, default=TargetMetric.MTTC_CHANGE_PCT
    )
    target_value = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=Decimal("-20"),
        help_text="E.g. -20 for MTTC 20 % shorter, 5 for a win rate 5 points higher.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rolled_out_at = models.DateTimeField(null=True, blank=True)
    rolled_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="pilot_window_order"
            ),
            models.CheckConstraint(
                condition=~Q(process=F("baseline_process")), name="pilot_process_differs"
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = "The pilot ends before it starts."
        if self.process_id and self.process_id == self.baseline_process_id:
            errors["baseline_process"] = "The baseline must be another process version."
        if self.target_value is not None and self.target_value == 0:
            errors["target_value"] = "A target of zero change cannot be detected; pick an effect."
        if (
            self.target_metric == self.TargetMetric.MTTC_CHANGE_PCT
            and self.target_value is not None
            and self.target_value <= -100
        ):
            errors["target_value"] = "MTTC cannot shrink by 100 % or more."
        if errors:
            raise ValidationError(errors)

    def status_on(self, today: date) -> str:
        if self.rolled_out_at:
            return "rolled out"
        if today < self.starts_on:
            return "planned"
        if today <= self.ends_on:
            return "running"
        return "finished"


class SaCapacity(models.Model):
    """The hours a week an SA has for pre-sales work, against which the workload page measures
    the hours logged on their deals. An SA without a row has `DEFAULT_WEEKLY_HOURS`; a manager
    of one of the SA's teams (or an admin) sets it, e.g. 20 for a part-timer or a team lead."""

    DEFAULT_WEEKLY_HOURS = Decimal("40")
    MAX_WEEKLY_HOURS = Decimal("80")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sa_capacity"
    )
    weekly_hours = models.DecimalField(
        max_digits=3,
        decimal_places=1,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_WEEKLY_HOURS)],
        help_text="Hours a week for pre-sales work, 0 to 80.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "SA capacity"
        verbose_name_plural = "SA capacities"
        constraints = [
            models.CheckConstraint(
                condition=Q(weekly_hours__gte=0) & Q(weekly_hours__lte=80),
                name="sa_capacity_weekly_hours_range",
            )
        ]

    def __str__(self):
        return f"{self.user}: {self.weekly_hours} h/week"
