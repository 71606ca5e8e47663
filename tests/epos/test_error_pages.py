"""Errors answer in the client's language: the styled pages for people, JSON for the API."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_an_unknown_api_address_answers_json(client):
    response = client.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_an_unknown_page_is_the_styled_404(client, alice):
    client.force_login(alice)

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]
    assert 'class="topbar"' in response.content.decode()


def test_a_crash_in_the_api_answers_json_without_details(api, alice, monkeypatch):
    from epos.api import views

    def crash(self, request):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.MeView, "get", crash)
    client = Client(raise_request_exception=False)
    client.defaults["HTTP_AUTHORIZATION"] = api.as_user(alice)._credentials["HTTP_AUTHORIZATION"]

    response = client.get("/api/v1/me/")

    assert response.status_code == 500
    assert response.json()["detail"].startswith("Something went wrong on our side")
    assert "secret internals" not in response.content.decode()


def test_a_crash_on_a_page_is_the_styled_500(client, alice, monkeypatch):
    from epos import views

    monkeypatch.setattr(views.selectors, "api_keys_for_user", lambda user: 1 / 0)
    client.raise_request_exception = False
    client.force_login(alice)

    response = client.get("/profile/")

    assert response.status_code == 500
    assert "text/html" in response["Content-Type"]
    assert "ZeroDivisionError" not in response.content.decode()
