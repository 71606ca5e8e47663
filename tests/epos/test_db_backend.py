"""epos.db.postgresql: Django's health check, skipped on a connection that just answered."""

import time

import pytest
from django.db import connections

from epos.db.postgresql.base import HEALTH_CHECK_AFTER_IDLE_SECONDS


@pytest.fixture
def fresh(postgres_only):
    """A connection of its own (the test's is inside the test transaction), as a web worker
    holds one between requests."""
    wrapper = connections.create_connection("default")
    assert wrapper.settings_dict["CONN_HEALTH_CHECKS"]
    assert wrapper.settings_dict["CONN_MAX_AGE"] > 0
    yield wrapper
    wrapper.close()


def _request(wrapper) -> None:
    """What a request does with the connection: a query, then Django's end-of-request check."""
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
    wrapper.close_if_unusable_or_obsolete()


def _pings(wrapper, monkeypatch) -> list:
    calls = []
    real = wrapper.is_usable
    monkeypatch.setattr(wrapper, "is_usable", lambda: calls.append(1) or real())
    return calls


def test_a_connection_that_answered_just_now_is_not_pinged(fresh, monkeypatch):
    _request(fresh)
    pings = _pings(fresh, monkeypatch)
    _request(fresh)
    _request(fresh)
    assert pings == []


def test_an_idle_connection_is_pinged_first(fresh, monkeypatch):
    _request(fresh)
    pings = _pings(fresh, monkeypatch)
    fresh._answered_at = time.monotonic() - HEALTH_CHECK_AFTER_IDLE_SECONDS - 0.1
    _request(fresh)
    assert pings == [1]
    _request(fresh)
    assert pings == [1], "the request that pinged proved the connection for the next one"


def test_a_connection_the_server_dropped_while_idle_is_replaced(fresh, monkeypatch):
    _request(fresh)
    backend = fresh.connection.info.backend_pid
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    fresh._answered_at = time.monotonic() - HEALTH_CHECK_AFTER_IDLE_SECONDS - 0.1
    with fresh.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != backend
