"""Who we talk to: webhook subscriptions and deliveries, sync connections and their runs."""

import json

from django.conf import settings
from django.db import models

from epos.lib import crypto
from epos.models import ApiKey, OutboxMessage
from epos.outbox import TOPICS


class WebhookSubscription(models.Model):
    """A REST-hook subscription: POST every `event` the owner may see to `target_url`, signed."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        # The receiver answered 410 Gone: it asked never to be called again.
        GONE = "gone", "Deactivated (410 Gone)"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_subscriptions"
    )
    # A subscription made with a key lives and dies with it: revoked, it gets nothing more;
    # deleted, it goes too.
    api_key = models.ForeignKey(
        ApiKey,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="The key that subscribed (Zapier's connection), if any",
    )
    event = models.CharField(max_length=80, choices=[(topic, topic) for topic in TOPICS])
    target_url = models.URLField(max_length=2000)
    secret_encrypted = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["event", "status"], name="webhook_sub_event_idx")]

    def __str__(self):
        return f"{self.event} → {self.target_url}"

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted)


class WebhookDelivery(models.Model):
    """One event for one subscription, tried until it succeeds, fails for good or is given up.

    `next_attempt_at` is both the retry schedule and the lease of an attempt in progress: a worker
    that claims the delivery pushes it past the request's timeout, so a delivery whose worker died
    becomes due again and the sweeper hands it to another worker.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed"
        # The subscriber may no longer see the object, or the subscription was paused or removed.
        SKIPPED = "skipped", "Skipped"

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "message"], name="webhook_delivery_once_per_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_sub_idx"),
        ]

    def __str__(self):
        return f"{self.webhook_id} ({self.status})"

    @property
    def webhook_id(self) -> str:
        """The `webhook-id` header: one per (subscription, event), the same on every retry."""
        return f"msg_{self.pk}"


class Connection(models.Model):
    """A configured source EPOS syncs from (Vivun, Google Workspace), with its credentials.

    `cursor` is where the last successful run stopped; it changes only in the transaction that
    commits that run's rows, so a run that dies half-way leaves it where it was.
    """

    class System(models.TextChoices):
        VIVUN = "vivun", "Vivun"
        GOOGLE = "google", "Google Workspace"

    class Adapter(models.TextChoices):
        VIVUN_CSV = "vivun_csv", "Vivun CSV export"
        VIVUN_SALESFORCE = "vivun_salesforce", "Vivun on Salesforce"
        VIVUN_HTTP = "vivun_http", "Vivun HTTP export"
        GOOGLE_DRIVE = "google_drive", "Google Drive"
        GOOGLE_CALENDAR = "google_calendar", "Google Calendar"

    class Status(models.TextChoices):
        OK = "ok", "OK"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"

    system = models.CharField(max_length=20, choices=System.choices)
    adapter = models.CharField(max_length=20, choices=Adapter.choices)
    name = models.CharField(max_length=120, unique=True)
    enabled = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True)
    # A Fernet token of the JSON credentials (epos.lib.crypto); empty when the adapter needs none.
    credentials_encrypted = models.TextField(blank=True)
    cursor = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OK)
    status_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self):
        return self.name

    @property
    def credentials(self) -> dict:
        """The decrypted credentials; a key that cannot read them raises crypto.DecryptionError."""
        if not self.credentials_encrypted:
            return {}
        return json.loads(crypto.decrypt(self.credentials_encrypted))

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)


class SyncRun(models.Model):
    """One run of one connection: what it read, wrote and could not write.

    A queued or running run is the connection's lease: the partial unique constraint allows one
    at a time, and a running run holds it until `lease_expires_at` (past the task's hard time
    limit), after which a run whose worker died is closed as failed and a new one may start.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        PARTIAL = "partial", "Partial (some rows failed)"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Sync now"
        SCHEDULE = "schedule", "Schedule"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.MANUAL)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    message = models.CharField(max_length=500, blank=True)
    cursor_before = models.TextField(blank=True)
    cursor_after = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection"],
                condition=models.Q(status__in=["queued", "running"]),
                name="sync_run_one_active_per_connection",
            )
        ]
        indexes = [models.Index(fields=["connection", "-created_at"], name="sync_run_conn_idx")]

    def __str__(self):
        return f"{self.connection_id} run {self.pk} ({self.status})"


class SyncedItem(models.Model):
    """A record a sync brought onto a deal, and the link back to it in the tool it came from.

    Activities and product gaps live in the opportunities app (keyed by `ExternalRef`); this row
    adds where they came from, so the deal's timeline can link back. A deliverable has no other
    home: it is shown from here, and a finished one is evidence for the stage item asking for it
    (the `deliverable.synced` event).
    """

    class Kind(models.TextChoices):
        ACTIVITY = "activity", "Activity"
        PRODUCT_GAP = "product_gap", "Product gap"
        DELIVERABLE = "deliverable", "Deliverable"

    system = models.CharField(max_length=20, choices=Connection.System.choices)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    external_id = models.CharField(max_length=255)
    # A sync writes tens of thousands of these: no index beyond the ones reads use (deleting a
    # connection or a user, rare, scans).
    # The connection that last wrote it; kept when the connection goes.
    connection = models.ForeignKey(
        Connection,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # Indexed by synced_item_deal_idx, which it leads.
    opportunity = models.ForeignKey(
        "opportunities.Opportunity", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # The Activity or ProductGap it made (none for a deliverable).
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    title = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=20, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    occurred_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "kind", "external_id"], name="synced_item_unique_id"
            )
        ]
        indexes = [
            models.Index(
                fields=["opportunity", "kind", "-occurred_at"], name="synced_item_deal_idx"
            ),
            models.Index(fields=["kind", "object_id"], name="synced_item_object_idx"),
        ]

    def __str__(self):
        return f"{self.system}:{self.kind}:{self.external_id}"


class DriveFile(models.Model):
    """A deal's folder on the shared drive, or a document copied into it from a template.

    Written once Google created the file (or a lookup found it). The `appProperties` Drive keeps
    on the file (epos_opportunity_id, epos_item_id) are what a retry finds it by, so a run that
    died between Google's answer and this row duplicates nothing.
    """

    class Kind(models.TextChoices):
        FOLDER = "folder", "Folder"
        DOCUMENT = "document", "Document"

    opportunity = models.ForeignKey(
        "opportunities.Opportunity", on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The checklist item the document is for, and the stage whose entry made it.
    item = models.ForeignKey(
        "stages.StageItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stage = models.ForeignKey(
        "stages.Stage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    connection = models.ForeignKey(
        Connection, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_id = models.CharField(max_length=200)
    name = models.CharField(max_length=300)
    url = models.URLField(max_length=1000)
    template_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["opportunity"],
                condition=models.Q(kind="folder"),
                name="drive_file_one_folder_per_deal",
            ),
            models.UniqueConstraint(
                fields=["opportunity", "item"],
                condition=models.Q(kind="document"),
                name="drive_file_one_document_per_item",
            ),
        ]
        indexes = [
            models.Index(fields=["opportunity", "kind", "-created_at"], name="drive_file_deal_idx")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name}"
