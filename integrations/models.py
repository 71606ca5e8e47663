"""Who we talk to: webhook subscriptions and their deliveries (connections and sync runs later)."""

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
