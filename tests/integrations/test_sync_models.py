"""Connections keep their credentials encrypted; rotation re-encrypts, a wrong key fails clearly."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from epos.lib import crypto
from integrations.models import Connection, SyncRun, WebhookSubscription
from integrations.sync import services

pytestmark = pytest.mark.django_db

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def csv_settings(tmp_path):
    path = tmp_path / "activities.csv"
    path.write_text("Activity ID,Opportunity ID,Activity Type,Activity Date\n")
    return {"files": {"activities": str(path)}}


@pytest.fixture
def connection(root, csv_settings, settings):
    settings.EPOS_ENCRYPTION_KEYS = [OLD]
    return services.connection_create(
        actor=root,
        system="vivun",
        adapter="vivun_csv",
        name="Vivun exports",
        settings=csv_settings,
        credentials={"token": "s3cret"},
    )


def test_credentials_are_stored_encrypted_and_read_back(connection):
    stored = Connection.objects.get(pk=connection.pk)

    assert "s3cret" not in stored.credentials_encrypted
    assert stored.credentials == {"token": "s3cret"}


def test_a_missing_key_is_a_clear_error_not_an_empty_credential(connection, settings):
    settings.EPOS_ENCRYPTION_KEYS = [NEW]

    with pytest.raises(crypto.DecryptionError, match="EPOS_ENCRYPTION_KEYS"):
        _ = Connection.objects.get(pk=connection.pk).credentials


def test_rotation_re_encrypts_connections_and_webhook_secrets(connection, settings, alice):
    secret = "whsec_abc"
    subscription = WebhookSubscription.objects.create(
        user=alice,
        event="opportunity.created",
        target_url="https://hooks.example.com/x",
        secret_encrypted=crypto.encrypt(secret),
    )
    settings.EPOS_ENCRYPTION_KEYS = [NEW, OLD]

    call_command("rotate_encryption_keys")

    settings.EPOS_ENCRYPTION_KEYS = [NEW]
    assert Connection.objects.get(pk=connection.pk).credentials == {"token": "s3cret"}
    subscription.refresh_from_db()
    assert subscription.secret == secret


def test_rotation_without_the_old_key_changes_nothing(connection, settings):
    before = Connection.objects.get(pk=connection.pk).credentials_encrypted
    settings.EPOS_ENCRYPTION_KEYS = [NEW]

    with pytest.raises(CommandError, match=f"connection {connection.pk} cannot be decrypted"):
        call_command("rotate_encryption_keys")

    assert Connection.objects.get(pk=connection.pk).credentials_encrypted == before


def test_a_sync_with_unreadable_credentials_fails_and_asks_for_attention(
    connection, settings, django_capture_on_commit_callbacks
):
    settings.EPOS_ENCRYPTION_KEYS = [NEW]

    with django_capture_on_commit_callbacks(execute=True):
        run, _ = services.sync_request(actor=None, connection=connection)

    run.refresh_from_db()
    connection.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert "EPOS_ENCRYPTION_KEYS" in run.message
    assert connection.status == Connection.Status.NEEDS_ATTENTION
    assert connection.cursor == ""


def test_one_active_run_per_connection_is_a_database_constraint(connection):
    from django.db import IntegrityError, transaction

    SyncRun.objects.create(connection=connection)
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncRun.objects.create(connection=connection, status=SyncRun.Status.RUNNING)
    SyncRun.objects.create(connection=connection, status=SyncRun.Status.SUCCEEDED)
    assert SyncRun.objects.count() == 2
