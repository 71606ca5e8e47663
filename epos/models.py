"""The platform every app writes to: the outbox, personal API keys, external references.

These tables were first created by the integrations app and keep their names.
"""

import hashlib
import secrets

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models


class ApiKey(models.Model):
    """A personal API key. Only a SHA-256 digest is stored; the key is shown once at creation.

    Keys are 256-bit random strings, so a fast digest is enough: there is nothing to brute-force
    that a slow password hash would protect.
    """

    PREFIX = "epos_"

    class System(models.TextChoices):
        """An integration's key: what is written with it is marked as coming from that system."""

        PERSONAL = "", "Personal"
        ZAPIER = "zapier", "Zapier"
        VIVUN = "vivun", "Vivun"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=80, blank=True)
    # Only an admin issues an integration key (manage.py create_api_key --system).
    system = models.CharField(max_length=20, blank=True, choices=System.choices, default="")
    prefix = models.CharField(max_length=12, help_text="First characters, to tell keys apart")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "integrations_apikey"
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def generate() -> str:
        return ApiKey.PREFIX + secrets.token_urlsafe(32)

    @staticmethod
    def digest_of(raw_key: str) -> str:
        return hashlib.sha256(raw_key.encode()).hexdigest()


class OutboxMessage(models.Model):
    """An event others must hear of, written in the same transaction as the change it reports."""

    topic = models.CharField(max_length=80)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        db_table = "integrations_outboxmessage"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_pending_idx",
                condition=models.Q(dispatched_at__isnull=True),
            ),
            models.Index(fields=["topic", "-created_at"], name="integration_topic_df4453_idx"),
        ]

    def __str__(self):
        return f"{self.topic} #{self.pk}"


class ExternalRef(models.Model):
    """Which local row an identifier of another system stands for.

    Imports and syncs look rows up here before creating anything, so running them again
    updates what they made last time instead of duplicating it.
    """

    system = models.CharField(max_length=40, help_text="maven-crm, salesforce, vivun, …")
    kind = models.CharField(max_length=40, help_text="opportunity, account, user, team, …")
    external_id = models.CharField(max_length=255)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "integrations_externalref"
        ordering = ["system", "kind", "external_id"]
        verbose_name = "external reference"
        constraints = [
            models.UniqueConstraint(
                fields=["system", "kind", "external_id"], name="external_ref_unique_id"
            )
        ]
        indexes = [
            models.Index(
                fields=["content_type", "object_id"], name="integration_content_46d383_idx"
            )
        ]

    def __str__(self):
        return f"{self.system}:{self.kind}:{self.external_id}"


class BuiltinRecord(models.Model):
    """What a built-in content loader shipped, per entry, so a restart never undoes people's work.

    A loader creates an entry only when it has no record of it. An entry it loaded before and
    that is gone was deleted by someone, and stays deleted; one that is there is left as people
    made it. A newer shipped version is only offered (`available_digest`) to whoever curates it.
    """

    source = models.CharField(max_length=60, help_text="catalog.challenge, stages.tool, …")
    key = models.CharField(max_length=200, help_text="The entry's natural key (its slug)")
    digest = models.CharField(max_length=64, help_text="The shipped content last loaded")
    available_digest = models.CharField(
        max_length=64, blank=True, help_text="A newer shipped content, not applied yet"
    )
    loaded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source", "key"]
        constraints = [
            models.UniqueConstraint(fields=["source", "key"], name="builtin_record_unique_key")
        ]

    def __str__(self):
        return f"{self.source}:{self.key}"
