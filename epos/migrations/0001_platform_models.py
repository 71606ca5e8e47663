"""ApiKey, OutboxMessage and ExternalRef move from integrations to epos, keeping their tables.

State only: the tables were created by integrations 0001/0002 and are not touched. The content
types follow the models so admin history and permissions stay attached to them.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ("apikey", "outboxmessage", "externalref")


def move_content_types(apps, schema_editor, source="integrations", target="epos"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if ContentType.objects.filter(app_label=target, model=model).exists():
            continue
        ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="epos", target="integrations")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contenttypes", "0002_remove_content_type_name"),
        ("integrations", "0002_external_ref"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiKey",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(blank=True, max_length=80)),
                        ("prefix", models.CharField(help_text="First characters, to tell keys apart", max_length=12)),
                        ("digest", models.CharField(max_length=64, unique=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="api_keys", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "API key",
                        "db_table": "integrations_apikey",
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("topic", models.CharField(max_length=80)),
                        ("payload", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("dispatched_at", models.DateTimeField(blank=True, null=True)),
                        ("attempts", models.PositiveIntegerField(default=0)),
                        ("last_error", models.TextField(blank=True)),
                    ],
                    options={
                        "db_table": "integrations_outboxmessage",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(condition=models.Q(("dispatched_at__isnull", True)), fields=["created_at"], name="outbox_pending_idx"),
                            models.Index(fields=["topic", "-created_at"], name="integration_topic_df4453_idx"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="ExternalRef",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("system", models.CharField(help_text="maven-crm, salesforce, vivun, …", max_length=40)),
                        ("kind", models.CharField(help_text="opportunity, account, user, team, …", max_length=40)),
                        ("external_id", models.CharField(max_length=255)),
                        ("object_id", models.PositiveBigIntegerField()),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("content_type", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="contenttypes.contenttype")),
                    ],
                    options={
                        "verbose_name": "external reference",
                        "db_table": "integrations_externalref",
                        "ordering": ["system", "kind", "external_id"],
                        "indexes": [models.Index(fields=["content_type", "object_id"], name="integration_content_46d383_idx")],
                        "constraints": [models.UniqueConstraint(fields=("system", "kind", "external_id"), name="external_ref_unique_id")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back, elidable=True),
    ]
