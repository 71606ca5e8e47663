"""SSRF: what a signed-in SA can make EPOS call, at subscribe time and at delivery time."""

import json

import pytest
from werkzeug import Response

from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks.targets import TargetRefused, resolve_target
from tests.security.support import deliver, make_event, make_subscription

pytestmark = pytest.mark.django_db

Status = WebhookDelivery.Status
HOOKS = "/api/v1/hooks/"
PUBLIC_ONLY = "webhooks go to public addresses only"


def post_hook(api, user, url, event="opportunity.stage_changed"):
    return api.as_user(user).post(HOOKS, {"target_url": url, "event": event}, format="json")


# --- refused at subscribe time (regression tests) -----------------------------------------------


# Every spelling of a loopback / unspecified / private address resolves to it and is refused by
# the address check itself (the message names the address the host resolved to).
@pytest.mark.parametrize(
    ("url", "resolved"),
    [
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://017700000001/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("HTTP://127.0.0.1/hook", "127.0.0.1"),
        ("http://0.0.0.0:8000/", "0.0.0.0"),  # noqa: S104
        ("http://0/", "0.0.0.0"),  # noqa: S104
        ("http://[::]/", "::"),
        ("http://[::1]:8000/", "::1"),
        ("http://[::ffff:7f00:1]/", "::ffff:7f00:1"),
        ("http://[0:0:0:0:0:ffff:127.0.0.1]/", "::ffff:7f00:1"),
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", "::ffff:a9fe:a9fe"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254"),
        ("http://100.64.0.1/", "100.64.0.1"),  # carrier-grade NAT, is_global is False
        ("http://192.0.0.1/", "192.0.0.1"),
        ("http://198.18.0.1/", "198.18.0.1"),
        ("http://240.0.0.1/", "240.0.0.1"),
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://172.16.0.1/", "172.16.0.1"),
        ("http://192.168.1.1/", "192.168.1.1"),
        ("http://224.0.0.1/", "224.0.0.1"),
        ("http://\uff11\uff12\uff17.0.0.1/", "127.0.0.1"),  # full-width digits, IDNA-folded
        ("http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/", "127.0.0.1"),
        ("http://localhost:8000/", "127.0.0.1"),
    ],
)
def test_subscribe_refuses_every_spelling_of_an_internal_address(api, alice, url, resolved):
    response = post_hook(api, alice, url)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["field"] == "target_url"
    text = body["detail"]
    assert PUBLIC_ONLY in text
    assert resolved in text
    assert WebhookSubscription.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://example.com@127.0.0.1/", "user name or password"),
        ("http://example.com\\@127.0.0.1/", "user name or password"),
        ("http://127.0.0.1\\@example.com/", "user name or password"),
        ("http://a:@127.0.0.1/", "user name or password"),
        ("http://1.1.1.1:99999/", "Port out of range"),
        ("http://[::1%25lo]/", "cannot be resolved"),  # zone id
        ("http://[fe80::1%25eth0]/", "cannot be resolved"),
        ("http://127.0.0.1./", "cannot be resolved"),  # trailing dot
        ("gopher://1.1.1.1/", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("//1.1.1.1/hook", "http:// or https://"),
        ("http:///hook", "no host name"),
    ],
)
def test_subscribe_refuses_malformed_and_userinfo_urls(api, alice, url, words):
    response = post_hook(api, alice, url)

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["field"] == "target_url"
    assert words in body["detail"]
    assert WebhookSubscription.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://1.1.1.1/a\r\nX-Injected: 1",
        "http://1.1.1.1/a\nX-Injected: 1",
        "http://1.1.1.1/a\tb",
        "http://1.1.1.1/a b",
        "http://1.1.1.1/\x00",
        "http://1.1.1.1/" + "a" * 2000,
    ],
    ids=["crlf", "lf", "tab", "space", "nul", "too-long"],
)
def test_subscribe_refuses_control_characters_whitespace_and_very_long_urls(api, alice, url):
    response = post_hook(api, alice, url)

    assert response.status_code == 400, response.content
    assert "target_url" in response.json()
    assert WebhookSubscription.objects.count() == 0


# --- FINDING: IPv6 forms that embed an IPv4 address ---------------------------------------------


# Python 3.11's ipaddress calls these "global", but each one embeds an IPv4 address (here
# loopback or 10.0.0.1) that a NAT64 gateway / 6to4 relay / SIIT translator forwards to: on an
# IPv6-only cluster with DNS64/NAT64 (AWS, GKE, Kubernetes dual-stack) `64:ff9b::a9fe:a9fe` is the
# cloud metadata service. fec0::/10 is deprecated site-local (not routable on the internet).
@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/",  # NAT64 well-known prefix -> 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 -> 169.254.169.254
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64 prefix (RFC 8215) -> 10.0.0.1
        "http://[2002:7f00:1::]/",  # 6to4 -> 127.0.0.1
        "http://[2002:a9fe:a9fe::]/",  # 6to4 -> 169.254.169.254
        "http://[::127.0.0.1]/",  # IPv4-compatible (deprecated)
        "http://[::ffff:0:7f00:1]/",  # IPv4-translated (SIIT)
        "http://[fec0::1]/",  # site-local (deprecated, never global)
    ],
)
def test_subscribe_refuses_ipv6_addresses_that_embed_a_private_ipv4(api, alice, url):
    response = post_hook(api, alice, url)

    assert response.status_code == 400, response.content
    assert PUBLIC_ONLY in json.dumps(response.json())
    assert WebhookSubscription.objects.count() == 0


def test_delivery_refuses_a_nat64_target_that_was_stored_earlier(alice, opportunity):
    """The check at delivery time has the same gap: nothing is refused, EPOS tries to connect."""
    subscription = make_subscription(alice, "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/")

    delivery = deliver(subscription, make_event(opportunity))

    assert delivery.status == Status.FAILED
    assert delivery.attempts == 1
    assert PUBLIC_ONLY in delivery.last_error


# --- refused at delivery time (regression tests) ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["http://0x7f.1:{port}/hook", "http://2130706433:{port}/hook", "http://0.0.0.0:{port}/hook"],
)
def test_delivery_refuses_a_stored_loopback_target_and_sends_nothing(
    alice, opportunity, httpserver, url
):
    httpserver.expect_request("/hook").respond_with_data("should never be called")
    subscription = make_subscription(alice, url.format(port=httpserver.port))

    delivery = deliver(subscription, make_event(opportunity))

    assert httpserver.log == []
    assert (delivery.status, delivery.next_attempt_at) == (Status.FAILED, None)
    assert PUBLIC_ONLY in delivery.last_error


def test_a_redirect_to_loopback_is_not_followed(alice, opportunity, httpserver, settings):
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True  # the "public" receiver lives on loopback here
    httpserver.expect_request("/hook").respond_with_response(
        Response("moved", status=302, headers={"Location": httpserver.url_for("/internal")})
    )
    httpserver.expect_request("/internal").respond_with_data("internal secrets")
    subscription = make_subscription(alice, httpserver.url_for("/hook"))

    delivery = deliver(subscription, make_event(opportunity))

    assert [request.path for request, _ in httpserver.log] == ["/hook"]
    assert (delivery.status, delivery.response_status) == (Status.FAILED, 302)
    assert delivery.last_error == "HTTP 302: not retried."
    assert "internal secrets" not in delivery.response_excerpt


def test_the_connection_goes_to_the_checked_address_not_a_fresh_lookup(monkeypatch, settings):
    """DNS rebinding: the Target pins the address the check saw."""
    import socket

    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))]])
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: next(answers))

    target = resolve_target("http://rebind.example/hook")

    assert (target.host, target.address, target.port) == ("rebind.example", "93.184.216.34", 80)


def test_a_name_with_one_private_address_among_public_ones_is_refused(monkeypatch):
    import socket

    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", 80, 0, 0)),
        ],
    )

    with pytest.raises(TargetRefused, match="::1"):
        resolve_target("http://round-robin.example/hook")
