"""Ids and numbers from a request that are not ids (Unicode digits, 30-digit numbers) and
over-long tag names give "no such thing" or a 400, never a 500 (`epos.lib.ids.parse_id`)."""

import pytest
from django.urls import reverse

from building_blocks.models import BuildingBlock, Tag
from epos.lib.ids import parse_id

pytestmark = pytest.mark.django_db

NOT_IDS = ["²", "١٢", "٣", "99999999999999999999999999", "-1", "1e3", " ", "0x10"]


@pytest.mark.parametrize("text", NOT_IDS)
def test_text_that_is_not_an_id_parses_to_none(text):
    assert parse_id(text) is None


def test_ids_parse():
    assert [parse_id(v) for v in ("7", " 42 ", 9, "9223372036854775807")] == [
        7,
        42,
        9,
        2**63 - 1,
    ]
    assert parse_id("9223372036854775808") is None


@pytest.mark.parametrize("text", NOT_IDS)
def test_html_pages_answer_bad_ids_without_a_server_error(client, alice, process, stages, text):
    client.force_login(alice)
    column = reverse("opportunities:board-column", args=[process.slug, stages[0].pk])
    pages = [
        (column, {"offset": text}),
        (reverse("opportunities:board", args=[process.slug]), {"owner": text, "team": text}),
        (reverse("opportunities:opportunity-create"), {"account": text, "process": text}),
        (reverse("building_blocks:block-list"), {"owner": text}),
    ]
    for url, params in pages:
        response = client.get(url, params)
        assert response.status_code in (200, 404), (url, params, response.status_code)


@pytest.mark.parametrize(
    ("field", "value"),
    # 100 characters pass the serializer's 120 for a name; the slug holds 80.
    [("products", "x" * 100), ("industries", "Industry " * 11)],
)
def test_an_over_long_tag_name_is_a_400_and_writes_nothing(api, erin, field, value):
    response = api.as_user(erin).post(
        reverse("api:building-block-list"),
        {"title": "Guide", "kind": "discovery_guide", "body": "# Ask", field: [value]},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "too long for a tag" in str(response.json())
    assert not BuildingBlock.objects.exists() and not Tag.objects.filter(kind="product").exists()


def test_an_over_long_tag_in_the_html_form_is_a_form_error(client, erin):
    client.force_login(erin)
    response = client.post(
        reverse("building_blocks:block-create"),
        {"title": "Guide", "kind": "discovery_guide", "body": "# Ask", "more_products": "p" * 250},
    )
    assert response.status_code in (200, 400)
    assert "too long for a tag" in response.content.decode()
    assert not BuildingBlock.objects.exists()


@pytest.mark.parametrize("text", NOT_IDS)
def test_a_drilldown_stage_that_is_no_id_is_a_404(client, carol, process, text):
    client.force_login(carol)
    response = client.get(
        reverse("metrics:drilldown"), {"process": process.pk, "drill": "won", "stage": text}
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("route", "param"),
    [("api:opportunity-list", "created_before"), ("api:metrics-summary", "closed_after")],
)
def test_a_time_zone_offset_no_zone_has_is_a_400_naming_the_filter(api, alice, route, param):
    response = api.as_user(alice).get(reverse(route), {param: "1981-07-17T15:34:47+16:08"})
    assert response.status_code == 400, response.content
    assert param in response.json() or param in str(response.json())
    assert "between -14:00 and +14:00" in str(response.json())
    ok = api.get(reverse(route), {param: "1981-07-17T15:34:47+14:00"})
    assert ok.status_code == 200, ok.content
