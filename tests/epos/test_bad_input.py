"""Bad input gets a clear 400 on HTML and API alike, never a 500: NUL bytes, numbers beyond
the database's range, JSON nested thousands deep, markdown past its length cap."""

import json

import pytest

from building_blocks.models import BuildingBlock
from opportunities.models import Account
from stages.models import Stage

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/opportunities/?search=a%00b",
        "/api/v1/opportunities/?owner=99999999999999999999",
        "/api/v1/opportunities/?account=99999999999999999999",
        "/api/v1/accounts/?search=%00",
    ],
)
def test_api_filters_refuse_nul_and_huge_numbers_with_a_json_400(api, alice, url):
    response = api.as_user(alice).get(url)

    assert response.status_code == 400, response.content
    assert response.json()


@pytest.mark.parametrize("url", ["/opportunities/?q=a%00b", "/accounts/?q=%00", "/?q=%00"])
def test_pages_refuse_nul_bytes_with_a_400(client, alice, url):
    client.force_login(alice)

    response = client.get(url)

    assert response.status_code == 400
    assert "NUL" in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/?owner=99999999999999999999",
        "/opportunities/99999999999999999999/",
        "/blocks/?page=99999999999999999999",
    ],
)
def test_pages_take_huge_numbers_without_a_server_error(client, alice, url):
    client.force_login(alice)

    response = client.get(url)

    assert response.status_code < 500


def test_a_form_with_a_nul_byte_is_refused_and_saves_nothing(client, alice):
    client.force_login(alice)

    response = client.post("/accounts/new/", {"name": "Acme\x00 Corp"})

    assert response.status_code == 400
    assert not Account.objects.filter(name__startswith="Acme").exists()


def test_json_nested_thousands_deep_is_a_400(api, alice):
    body = '{"name": ' + "[" * 5000 + "]" * 5000 + "}"

    response = api.as_user(alice).post(
        "/api/v1/accounts/", data=body, content_type="application/json"
    )

    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]


def test_ordinary_json_still_parses(api, alice):
    response = api.as_user(alice).post(
        "/api/v1/accounts/",
        data=json.dumps({"name": "Globex", "business_context": "A [link](https://x.example)"}),
        content_type="application/json",
    )

    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("model", "field", "cap"),
    [
        (Account, "business_context", 20_000),
        (Stage, "guidance", 20_000),
        (BuildingBlock, "body", 100_000),
    ],
)
def test_markdown_fields_are_capped_at_the_model(model, field, cap):
    model_field = model._meta.get_field(field)

    assert model_field.max_length == cap
    assert any(getattr(v, "limit_value", None) == cap for v in model_field.validators)


def test_an_over_long_business_context_is_a_400_through_the_api(api, alice):
    response = api.as_user(alice).post(
        "/api/v1/accounts/", {"name": "Initech", "business_context": "x" * 20_001}
    )

    assert response.status_code == 400
    assert "business_context" in response.json()
    assert not Account.objects.filter(name="Initech").exists()
