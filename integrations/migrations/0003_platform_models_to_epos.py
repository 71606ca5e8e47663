"""The platform models now live in epos (epos 0001); integrations forgets them, tables stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0002_external_ref"),
        ("epos", "0001_platform_models"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ApiKey"),
                migrations.DeleteModel(name="OutboxMessage"),
                migrations.DeleteModel(name="ExternalRef"),
            ],
            database_operations=[],
        ),
    ]
