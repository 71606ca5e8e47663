"""Guards: migrations, schema, health, and every named page renders for an allowed user."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from epos.models import ApiKey

pytestmark = pytest.mark.django_db


def test_no_pending_migrations():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_openapi_schema_builds_and_documents_the_move(client, alice):
    client.force_login(alice)
    response = client.get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    move = schema["paths"]["/api/v1/opportunities/{id}/move/"]["post"]
    assert set(move["responses"]) >= {"200", "400", "409"}
    assert "apiKey" in schema["components"]["securitySchemes"]


def test_schema_generation_has_no_warnings():
    out, err = io.StringIO(), io.StringIO()
    call_command("spectacular", "--fail-on-warn", "--validate", stdout=out, stderr=err)
    assert "openapi: 3" in out.getvalue()


def test_swagger_ui_uses_local_assets(client, alice):
    client.force_login(alice)
    response = client.get(reverse("swagger-ui"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar" in html
    assert "cdn." not in html and "unpkg" not in html


def test_healthz_reports_database_and_broker(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"] in ("ok", "in-process")
    assert body["status"] == "ok"


@pytest.mark.parametrize("name", ["opportunities:home", "swagger-ui", "login"])
def test_named_pages_render(client, alice, name):
    client.force_login(alice)
    assert client.get(reverse(name)).status_code == 200


def test_pages_need_login(client):
    response = client.get(reverse("opportunities:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_home_escapes_user_text(client, alice, team, stages):
    from tests.factories import OpportunityFactory

    OpportunityFactory(name="<script>alert(1)</script>", stage=stages[0], owner=alice, team=team)
    client.force_login(alice)
    html = client.get(reverse("opportunities:home")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_create_api_key_prints_the_key_once_and_stores_only_a_hash(alice):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_key", "alice", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    key = ApiKey.objects.get(user=alice)
    assert raw.startswith("epos_") and len(raw) > 40
    assert key.digest == ApiKey.digest_of(raw)
    assert raw not in (key.digest, key.prefix)
    assert "cannot be shown again" in err.getvalue()


def test_create_api_key_for_unknown_user_fails_clearly():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("create_api_key", "ghost")
    assert not ApiKey.objects.exists()
