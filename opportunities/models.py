from django.conf import settings
from django.core.validators import (
    DomainNameValidator,
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
)
from django.db import models
from django.db.models import Q

from stages.models import Process, Stage, StageItem


class Team(models.Model):
    name = models.CharField(max_length=120, unique=True)
    region = models.CharField(max_length=80, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="managed_teams"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Account(models.Model):
    """The customer, with the top-down profile discovery starts from."""

    class Segment(models.TextChoices):
        SMB = "smb", "SMB"
        MID_MARKET = "mid_market", "Mid-market"
        ENTERPRISE = "enterprise", "Enterprise"

    class CustomerType(models.TextChoices):
        INDIVIDUAL = "individual", "Individual"
        ENTERPRISE = "enterprise", "Enterprise"

    class Ownership(models.TextChoices):
        PRIVATE = "private", "Private"
        STATE_OWNED = "state_owned", "State-owned"
        PUBLIC = "public", "Public"
        NON_PROFIT = "non_profit", "Non-profit"

    name = models.CharField(max_length=200)
    industry = models.CharField(max_length=80, blank=True)
    segment = models.CharField(max_length=12, choices=Segment.choices, blank=True)
    customer_type = models.CharField(
        max_length=12, choices=CustomerType.choices, default=CustomerType.ENTERPRISE
    )
    ownership = models.CharField(max_length=12, choices=Ownership.choices, blank=True)
    employees = models.PositiveIntegerField(null=True, blank=True)
    country = models.CharField(max_length=80, blank=True)
    city = models.CharField(max_length=80, blank=True)
    # The email domain of the customer's people: a calendar meeting with an attendee at this
    # domain is linked to the account's deal (integrations.sync.google_calendar).
    domain = models.CharField(
        "email domain",
        max_length=253,
        blank=True,
        validators=[
            DomainNameValidator(message="Enter a domain like acme.com (no @, no http://).")
        ],
        help_text="The customer's email domain, e.g. acme.com: calendar meetings with someone "
        "there are linked to this account's deal.",
    )
    has_own_infrastructure = models.BooleanField(null=True, blank=True)
    business_context = models.TextField(
        blank=True, max_length=20_000, validators=[MaxLengthValidator(20_000)], help_text="Markdown"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["name"]),
            models.Index(fields=["domain"], name="account_domain_idx"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        # Stored lowercase: domains are matched against attendees' addresses as they come.
        self.domain = self.domain.strip().lower()


class Contact(models.Model):
    class Level(models.TextChoices):
        EXECUTIVE = "executive", "Executive"
        MANAGEMENT = "management", "Management"
        TECHNICAL = "technical", "Technical"
        OPERATIONS = "operations", "Operations"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=160)
    email = models.EmailField(blank=True)
    title = models.CharField(max_length=160, blank=True)
    level = models.CharField(max_length=12, choices=Level.choices, blank=True)
    is_decision_maker = models.BooleanField(default=False)
    is_champion = models.BooleanField(default=False)

    class Meta:
        ordering = ["account", "name"]

    def __str__(self):
        return self.name


class Opportunity(models.Model):
    class UseCase(models.TextChoices):
        OBSERVABILITY = "observability", "Observability"
        SECURITY = "security", "Security"
        SEARCH = "search", "Search"
        OTHER = "other", "Other"

    class Source(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"
        TARGET_ABM = "target_abm", "Target (ABM)"
        REFERRAL = "referral", "Referral"
        PARTNER = "partner", "Partner"

    class Approach(models.TextChoices):
        TOP_DOWN = "top_down", "Top-down"
        BOTTOM_UP = "bottom_up", "Bottom-up"

    class Outcome(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"
        QUALIFIED_OUT = "qualified_out", "Qualified out"

    name = models.CharField(max_length=200)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.PROTECT, related_name="opportunities"
    )
    process = models.ForeignKey(Process, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_opportunities",
    )
    account_executive = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="executive_opportunities",
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="opportunities"
    )
    # Unknown stays unknown (null): left out of sums and averages, shown as "—".
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    product = models.CharField(max_length=80, blank=True)
    use_case = models.CharField(max_length=16, choices=UseCase.choices, default=UseCase.OTHER)
    source = models.CharField(max_length=12, choices=Source.choices, blank=True)
    approach = models.CharField(max_length=10, choices=Approach.choices, blank=True)
    expected_close_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    engaged_at = models.DateTimeField(null=True, blank=True)
    stage_entered_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=14, choices=Outcome.choices, default=Outcome.OPEN)
    loss_reason = models.CharField(max_length=200, blank=True)
    # Bumped by every write; a client that sends a stale value gets a 409 instead of
    # silently overwriting someone else's change.
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "opportunities"
        indexes = [
            models.Index(fields=["process", "stage", "outcome"]),
            models.Index(fields=["owner", "outcome"]),
            models.Index(fields=["team", "outcome"]),
            models.Index(fields=["closed_at"]),
            models.Index(fields=["-created_at", "-id"]),
            # The commonest list and board filters; keeps their COUNT(*) off a table scan.
            models.Index(fields=["outcome", "use_case"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_positive"),
            models.CheckConstraint(
                condition=Q(outcome="open", closed_at__isnull=True)
                | (~Q(outcome="open") & Q(closed_at__isnull=False)),
                name="opportunity_closed_at_matches_outcome",
            ),
        ]

    def __str__(self):
        return self.name


class StageTransition(models.Model):
    """Append-only: every entry into a stage. The source of truth for every time metric."""

    # No index of their own on `opportunity` and `to_stage`: the composite indexes below lead
    # with them and serve the same lookups. Every move writes to each index of this table.
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="transitions", db_index=False
    )
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    moved_at = models.DateTimeField()
    moved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)
    override_reason = models.TextField(blank=True)
    unmet_items = models.JSONField(default=list, blank=True)
    # When this visit of `to_stage` ended: the `moved_at` of the opportunity's next transition
    # (in `moved_at`, id order), null while the opportunity is still there. Derived, kept by
    # whoever writes transitions (the move service, the importer, `transitions_relink`), so
    # time-in-stage metrics read one row per visit instead of a window over the whole history.
    left_at = models.DateTimeField(null=True, blank=True, editable=False)
    # For an entry into an open stage: when the deal first entered, after it, an open or won
    # stage placed past this one (null until then). Derived and kept the same way; the
    # reached-or-passed funnel counts these instead of searching each deal's later history.
    passed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["moved_at", "id"]
        indexes = [
            models.Index(fields=["opportunity", "moved_at"]),
            models.Index(fields=["to_stage", "moved_at"]),
            # Stage metrics read the visits of a stage deal by deal (the funnel) or all at
            # once (time in stage): on PostgreSQL from the index alone.
            models.Index(
                fields=["to_stage", "opportunity"],
                include=["moved_at", "left_at", "passed_at"],
                name="transition_stage_deal_idx",
            ),
            # On PostgreSQL, migration 0008 adds `transition_stay_idx`: each stage's completed
            # visits in order of length, for the time-in-stage percentiles.
            # Overridden gates are rare: the metrics that split deals by them read this small
            # index instead of scanning every transition.
            models.Index(
                fields=["opportunity"],
                condition=~models.Q(override_reason=""),
                name="transition_override_idx",
            ),
        ]

    def __str__(self):
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"


class ChecklistCompletion(models.Model):
    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="checklist")
    item = models.ForeignKey(StageItem, on_delete=models.CASCADE, related_name="completions")
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    evidence_url = models.URLField(blank=True, max_length=500)
    note = models.TextField(blank=True)
    # The outbox message whose evidence completed the item (opportunities.automation); kept when
    # someone unticks it, so the same event never ticks it again.
    auto_event_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["opportunity", "item"], name="checklist_unique_item")
        ]


class Activity(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", "Call"
        MEETING = "meeting", "Meeting"
        DEMO = "demo", "Demo"
        WORKSHOP = "workshop", "Workshop"
        EMAIL = "email", "Email"
        POC_WORK = "poc_work", "POC work"
        NOTE = "note", "Note"

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        VIVUN = "vivun", "Vivun"
        GOOGLE_CALENDAR = "google_calendar", "Google Calendar"
        ZAPIER = "zapier", "Zapier"

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="activities"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    summary = models.TextField(blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    external_id = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["opportunity", "-occurred_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="activity_unique_external_id",
            )
        ]


class Qualification(models.Model):
    """BANT plus the first-consultation signals, scored 0–100."""

    class Answer(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        NO = "no", "No"
        YES = "yes", "Yes"

    class ContactLevel(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        EXECUTIVE = "executive", "Executive / owner"
        MANAGEMENT = "management", "Management"
        TECHNICAL = "technical", "Technical department"
        OPERATIONS = "operations", "Operations department"

    class Verdict(models.TextChoices):
        UNQUALIFIED = "unqualified", "Not qualified yet"
        NURTURE = "nurture", "Nurture"
        QUALIFIED = "qualified", "Qualified"
        PRICE_ONLY = "price_only", "Price shopper"

    opportunity = models.OneToOneField(
        Opportunity, on_delete=models.CASCADE, related_name="qualification"
    )
    budget = models.CharField(max_length=7, choices=Answer.choices, default=Answer.UNKNOWN)
    budget_note = models.CharField(max_length=300, blank=True)
    authority = models.CharField(max_length=7, choices=Answer.choices, default=Answer.UNKNOWN)
    authority_note = models.CharField(max_length=300, blank=True)
    need = models.CharField(max_length=7, choices=Answer.choices, default=Answer.UNKNOWN)
    need_note = models.CharField(max_length=300, blank=True)
    timeline = models.CharField(max_length=7, choices=Answer.choices, default=Answer.UNKNOWN)
    timeline_note = models.CharField(max_length=300, blank=True)
    customer_type_known = models.BooleanField(default=False)
    contact_level = models.CharField(
        max_length=12, choices=ContactLevel.choices, default=ContactLevel.UNKNOWN
    )
    written_requirements = models.BooleanField(default=False)
    asks_only_for_price = models.BooleanField(default=False)
    score = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    verdict = models.CharField(max_length=12, choices=Verdict.choices, default=Verdict.UNQUALIFIED)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )


class ProductGap(models.Model):
    class Severity(models.TextChoices):
        DEAL_BREAKER = "deal_breaker", "Deal breaker"
        DEAL_CHALLENGE = "deal_challenge", "Deal challenge"
        NICE_TO_HAVE = "nice_to_have", "Nice to have"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PLANNED = "planned", "Planned"
        RESOLVED = "resolved", "Resolved"
        WONT_FIX = "wont_fix", "Won't fix"

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="product_gaps"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=14, choices=Severity.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]


class EsatResponse(models.Model):
    """An engagement-satisfaction survey answer (1–5)."""

    class Source(models.TextChoices):
        SURVEY = "survey", "EPOS survey"
        MANUAL = "manual", "Manual"
        ZAPIER = "zapier", "Zapier"
        VIVUN = "vivun", "Vivun"

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="esat_responses"
    )
    stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.PROTECT)
    score = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True)
    respondent_email = models.EmailField(blank=True)
    received_at = models.DateTimeField()
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.MANUAL)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="esat_score_range")
        ]


class EsatInvitation(models.Model):
    """A one-time link that lets a customer contact answer an ESAT survey without logging in.

    The link carries a signed, timestamped token naming this row and its nonce; the row records
    whether it was answered, so a second use is refused even while the signature is still valid.
    """

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="esat_invitations"
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField()
    nonce = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    response = models.OneToOneField(
        EsatResponse,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitation",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["opportunity", "-created_at"])]

    def __str__(self):
        return f"ESAT survey for {self.email} ({self.opportunity_id})"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class SavedView(models.Model):
    """A user's named opportunity list: the filters and sort of the list's query string."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="saved_view_unique_name")
        ]

    def __str__(self):
        return self.name


__all__ = [
    "Account",
    "Activity",
    "ChecklistCompletion",
    "Contact",
    "EsatInvitation",
    "EsatResponse",
    "Opportunity",
    "ProductGap",
    "Qualification",
    "SavedView",
    "Stage",
    "StageItem",
    "StageTransition",
    "Team",
    "Process",
]
