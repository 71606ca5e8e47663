from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models


class Process(models.Model):
    """A versioned playbook. Opportunities point at one version; history is never rewritten."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="successors"
    )
    description = models.TextField(blank=True)
    # Fingerprint of the built-in template this version was loaded from; lets load_processes
    # tell "unchanged" from "changed" without comparing every field.
    template_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "version"], name="process_unique_slug_version"),
        ]
        verbose_name_plural = "processes"

    def __str__(self):
        return f"{self.name} v{self.version}"


class Tool(models.Model):
    """Something an SA uses during a stage: Vivun, Zapier, Google Docs, an ESAT survey..."""

    name = models.CharField(max_length=80, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    url = models.URLField(blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Stage(models.Model):
    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    class Phase(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        SALES = "sales", "Sales"
        ONBOARDING = "onboarding", "Onboarding"
        IMPACT = "impact", "Impact"
        GROW = "grow", "Grow"

    process = models.ForeignKey(Process, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80)
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.OPEN)
    phase = models.CharField(max_length=12, choices=Phase.choices, default=Phase.SALES)
    goal = models.TextField(blank=True)
    guidance = models.TextField(
        blank=True, max_length=20_000, validators=[MaxLengthValidator(20_000)], help_text="Markdown"
    )
    probability = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    target_days = models.PositiveIntegerField(null=True, blank=True)
    is_optional = models.BooleanField(default=False)
    starts_clock = models.BooleanField(default=False)
    tools = models.ManyToManyField(Tool, blank=True, related_name="stages")

    class Meta:
        ordering = ["process", "position"]
        constraints = [
            models.UniqueConstraint(fields=["process", "slug"], name="stage_unique_slug"),
            models.UniqueConstraint(fields=["process", "position"], name="stage_unique_position"),
            models.CheckConstraint(
                condition=models.Q(probability__gte=0, probability__lte=100),
                name="stage_probability_range",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind != self.Kind.OPEN

    def clean(self):
        if self.kind == self.Kind.WON and self.probability != 100:
            raise ValidationError({"probability": "A won stage has probability 100."})
        if self.kind == self.Kind.LOST and self.probability != 0:
            raise ValidationError({"probability": "A lost stage has probability 0."})


# The events a checklist item may be completed by (see opportunities.automation).
EVIDENCE_EVENTS = (
    "esat.sent",
    "esat.received",
    "activity.recorded",
    "gap.recorded",
    "building_block.used",
    "discovery.recorded",
    "document.created",
    "deliverable.synced",
    "qualification.recorded",
)


class StageItem(models.Model):
    """A checklist entry of a stage. Required items gate leaving the stage."""

    class Kind(models.TextChoices):
        PREREQUISITE = "prerequisite", "Prerequisite"
        CALL_TO_ACTION = "call_to_action", "Call to action"
        DELIVERABLE = "deliverable", "Deliverable"
        EXIT_CRITERION = "exit_criterion", "Exit criterion"

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    required = models.BooleanField(default=False)
    # The evidence that completes the item by itself (opportunities.automation): an event and
    # a condition on its data, e.g. ("activity.recorded", {"kind": "demo"}) or
    # ("esat.received", {"min_score": 4}).
    evidence_event = models.CharField(
        max_length=40, blank=True, choices=[(event, event) for event in EVIDENCE_EVENTS]
    )
    evidence_condition = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["stage", "position", "id"]

    def __str__(self):
        return self.title
