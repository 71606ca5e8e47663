"""What pre-sales reuses: building blocks with their versions, uses and review log; the
discovery catalog (business challenges, technical needs and the links between them); the
discovery links of a deal; training paths."""

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q

from building_blocks.fields import SearchVectorField
from epos.lib.roles import ROLE_LABELS
from opportunities.models import Opportunity
from stages.models import Stage

UseCase = Opportunity.UseCase


class Tag(models.Model):
    """A label a block is filed under: a stage, a use case, an industry or a product.

    Stage tags hold the stage's *slug* ("discovery", "demo-d2w"), not a Stage row. A process
    gets new versions (new Stage rows) and several playbooks share stage names, yet a discovery
    guide fits the Discovery stage of every version of every process; matching on the slug keeps
    a block relevant when a process is revised, without re-tagging the library.
    Industry and product tags hold the slug of the account's industry and of the deal's product,
    which are free text on those models.
    """

    class Kind(models.TextChoices):
        STAGE = "stage", "Stage"
        USE_CASE = "use_case", "Use case"
        INDUSTRY = "industry", "Industry"
        PRODUCT = "product", "Product"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    slug = models.SlugField(max_length=80)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "slug"], name="block_tag_unique_kind_slug")
        ]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.name}"


class BusinessChallenge(models.Model):
    """A business problem an account may have: where the top-down discovery path starts."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    use_case = models.CharField(max_length=16, choices=UseCase.choices)
    description = models.TextField(blank=True)
    # Words that, found in an account's business context, suggest this challenge.
    keywords = models.CharField(max_length=300, blank=True, help_text="Comma-separated")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["use_case", "position", "title"]

    def __str__(self):
        return self.title

    @property
    def keyword_list(self) -> list[str]:
        return [word.strip().lower() for word in self.keywords.split(",") if word.strip()]


class TechnicalNeed(models.Model):
    """A capability the customer needs: where the bottom-up discovery path starts."""

    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    use_case = models.CharField(max_length=16, choices=UseCase.choices)
    # The process or service of the customer the need belongs to (bottom-up: need → process →
    # business importance).
    area = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["use_case", "position", "title"]

    def __str__(self):
        return self.title


class ChallengeNeedLink(models.Model):
    """Why a business challenge implies a technical need, and how the customer would measure it."""

    challenge = models.ForeignKey(
        BusinessChallenge, on_delete=models.CASCADE, related_name="need_links"
    )
    need = models.ForeignKey(
        TechnicalNeed, on_delete=models.CASCADE, related_name="challenge_links"
    )
    use_case = models.CharField(max_length=16, choices=UseCase.choices)
    narrative = models.TextField()
    kpis = models.TextField(blank=True, help_text="One KPI per line")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["use_case", "challenge__position", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "need"], name="catalog_link_unique_pair")
        ]

    def __str__(self):
        return f"{self.challenge} → {self.need}"

    @property
    def kpi_list(self) -> list[str]:
        return [line.strip("-• ").strip() for line in self.kpis.splitlines() if line.strip()]


def block_upload_to(instance, filename: str) -> str:
    # A fresh directory per upload: names never collide and old versions keep their file.
    return f"blocks/{uuid.uuid4().hex}/{PurePosixPath(filename).name}"


class BuildingBlock(models.Model):
    """A reusable piece of pre-sales content: markdown, an uploaded file or an external link."""

    class Kind(models.TextChoices):
        DISCOVERY_GUIDE = "discovery_guide", "Discovery guide"
        QUESTION_SET = "question_set", "Question set"
        DEMO_SCRIPT = "demo_script", "Demo script"
        ARCHITECTURE = "architecture", "Architecture"
        WHITE_PAPER = "white_paper", "White paper"
        COMPARISON = "comparison", "Comparison"
        CASE_STUDY = "case_study", "Case study"
        SOLUTION_TEMPLATE = "solution_template", "Solution template"
        CONTRACT_TEMPLATE = "contract_template", "Contract template"
        SIZING_SHEET = "sizing_sheet", "Sizing sheet"
        TRAINING = "training", "Training"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    class FileType(models.TextChoices):
        PDF = "pdf", "PDF"
        DOCX = "docx", "Word"
        PPTX = "pptx", "PowerPoint"
        XLSX = "xlsx", "Excel"
        PNG = "png", "PNG image"
        JPG = "jpg", "JPEG image"
        MD = "md", "Markdown"
        TXT = "txt", "Text"

    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    summary = models.TextField(blank=True, max_length=1000)
    body = models.TextField(
        blank=True,
        max_length=100_000,
        validators=[MaxLengthValidator(100_000)],
        help_text="Markdown",
    )
    file = models.FileField(upload_to=block_upload_to, max_length=300, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_type = models.CharField(max_length=4, choices=FileType.choices, blank=True)
    file_size = models.PositiveIntegerField(null=True, blank=True)
    external_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_blocks",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    review_due = models.DateField(null=True, blank=True)
    # The number of the latest BlockVersion; also the optimistic-locking token of the edit form.
    version = models.PositiveIntegerField(default=1)
    tags = models.ManyToManyField(Tag, blank=True, related_name="blocks")
    needs = models.ManyToManyField(
        TechnicalNeed,
        blank=True,
        related_name="blocks",
        help_text="Technical needs of the discovery catalog this block helps with",
    )
    # Weighted title (A) > summary (B) > body (C); refreshed by the save services on PostgreSQL.
    search_vector = SearchVectorField(null=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "pk"]
        indexes = [
            # With the id, the library's facets read (status, kind, id) from the index alone
            # instead of scanning the wide rows (body, search vector) when nothing is searched.
            models.Index(fields=["status", "kind", "id"], name="block_status_kind_id_idx"),
            # The library's default order: its first page is read in index order.
            models.Index(fields=["title", "id"], name="block_title_id_idx"),
            models.Index(fields=["status", "-updated_at"]),
            models.Index(fields=["review_due"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="block_published_has_date",
            )
        ]

    def __str__(self):
        return self.title

    def clean(self):
        if not (self.body.strip() or self.file or self.external_url):
            raise ValidationError(
                "A building block needs content: write it in markdown, upload a file or link a "
                "document."
            )

    @property
    def content_kind(self) -> str:
        if self.file:
            return "file"
        if self.external_url:
            return "link"
        return "markdown"

    @property
    def is_visible_to_everyone(self) -> bool:
        return self.status == self.Status.PUBLISHED


class BlockVersion(models.Model):
    """A snapshot of a block taken at every save; restoring one saves it again as a new version."""

    block = models.ForeignKey(BuildingBlock, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=BuildingBlock.Kind.choices)
    summary = models.TextField(blank=True)
    body = models.TextField(blank=True)
    external_url = models.URLField(max_length=500, blank=True)
    # The stored file's path: uploads are never overwritten, so every version keeps its file.
    file = models.CharField(max_length=300, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_type = models.CharField(max_length=4, blank=True)
    file_size = models.PositiveIntegerField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    needs = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=BuildingBlock.Status.choices)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["block", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["block", "number"], name="block_version_unique_number")
        ]

    def __str__(self):
        return f"{self.block_id} v{self.number}"


class BlockEvent(models.Model):
    """The append-only log of a block: created, edited, submitted, published, sent back..."""

    block = models.ForeignKey(BuildingBlock, on_delete=models.CASCADE, related_name="events")
    code = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["block", "-at"])]

    def __str__(self):
        return f"{self.code} on {self.block_id}"


class BlockUsage(models.Model):
    """A block used on a deal at a stage; the raw material of the effectiveness figures."""

    block = models.ForeignKey(BuildingBlock, on_delete=models.CASCADE, related_name="usages")
    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="block_usages"
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["block", "opportunity"]),
            models.Index(fields=["opportunity", "block"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["block", "opportunity", "stage"], name="block_usage_unique_per_stage"
            )
        ]

    def __str__(self):
        return f"{self.block_id} on {self.opportunity_id} at {self.stage_id}"


class DiscoveryLink(models.Model):
    """A challenge → need pair the SA recorded for a deal, from either discovery direction.

    ARCHITECTURE lists DiscoveryLink under the opportunities app. It lives here instead because
    it points at the discovery catalog (BusinessChallenge, TechnicalNeed) of this app, and
    `opportunities` must not depend on `building_blocks`; this app already depends on
    `opportunities` (BlockUsage), so the dependency keeps pointing one way.
    """

    class Direction(models.TextChoices):
        TOP_DOWN = "top_down", "Top-down"
        BOTTOM_UP = "bottom_up", "Bottom-up"

    class Priority(models.IntegerChoices):
        HIGH = 1, "High"
        MEDIUM = 2, "Medium"
        LOW = 3, "Low"

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="discovery_links"
    )
    challenge = models.ForeignKey(BusinessChallenge, on_delete=models.PROTECT, related_name="+")
    need = models.ForeignKey(TechnicalNeed, on_delete=models.PROTECT, related_name="+")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    impact_note = models.CharField(max_length=500, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.MEDIUM)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity", "challenge", "need"], name="discovery_link_unique_pair"
            )
        ]

    def __str__(self):
        return f"{self.opportunity_id}: {self.challenge_id} → {self.need_id}"


class TrainingPath(models.Model):
    """An ordered list of blocks someone in a role works through."""

    name = models.CharField(max_length=160)
    slug = models.SlugField(max_length=80, unique=True)
    role = models.CharField(max_length=10, choices=list(ROLE_LABELS.items()))
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["role", "position", "name"]

    def __str__(self):
        return self.name


class TrainingStep(models.Model):
    path = models.ForeignKey(TrainingPath, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    block = models.ForeignKey(BuildingBlock, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["path", "position"]
        constraints = [
            models.UniqueConstraint(fields=["path", "position"], name="training_step_unique_pos")
        ]

    def __str__(self):
        return f"{self.path} #{self.position}"


class TrainingCompletion(models.Model):
    step = models.ForeignKey(TrainingStep, on_delete=models.CASCADE, related_name="completions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_completions"
    )
    completed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "user"], name="training_completion_unique")
        ]
