"""Personas (alice the SA, bob her teammate, carol their manager, dave an outsider, ...)
and the switches that decide whether tests needing real services run or skip."""

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from epos.services import api_key_create
from metrics.tasks import dashboard_refresh
from tests import factories

# The suite runs on production settings (DEBUG off) but speaks plain HTTP to the test client and
# the live server, and renders pages without a collectstatic manifest. Set once, before any live
# server builds its middleware chain.
settings.SECURE_SSL_REDIRECT = False
settings.SESSION_COOKIE_SECURE = False
settings.CSRF_COOKIE_SECURE = False
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def require_service(name: str, available: bool, why: str = "") -> None:
    """Skip without the service, unless EPOS_REQUIRE_SERVICES=1 demands it (then fail)."""
    if available:
        return
    message = f"{name} is not available{': ' + why if why else ''}"
    if settings.EPOS_REQUIRE_SERVICES or os.environ.get("EPOS_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{message} (EPOS_REQUIRE_SERVICES=1)")
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def _close_metric_lanes(django_db_setup):
    """Close the dashboard lanes' connections (metrics/lanes.py) before the test database is
    dropped: a live server or a transactional test may have opened them."""
    yield
    from metrics import lanes

    lanes.close_connections()


@pytest.fixture
def postgres_only(db):
    from django.db import connection

    require_service("PostgreSQL", connection.vendor == "postgresql", "DATABASE_URL is not postgres")


@pytest.fixture
def team(db):
    return factories.TeamFactory(name="Observability EMEA")


@pytest.fixture
def other_team(db):
    return factories.TeamFactory(name="Security APAC")


@pytest.fixture
def alice(team):
    """An SA who owns deals in `team`."""
    user = factories.UserFactory(
        username="alice", first_name="Alice", last_name="Archer", role="sa"
    )
    team.members.add(user)
    return user


@pytest.fixture
def bob(team):
    """Alice's teammate, also an SA."""
    user = factories.UserFactory(username="bob", first_name="Bob", last_name="Baker", role="sa")
    team.members.add(user)
    return user


@pytest.fixture
def carol(team):
    """The manager of `team`."""
    user = factories.UserFactory(
        username="carol", first_name="Carol", last_name="Cho", role="manager"
    )
    team.managers.add(user)
    return user


@pytest.fixture
def dave(other_team):
    """An SA in another team: an outsider to alice's deals."""
    user = factories.UserFactory(username="dave", first_name="Dave", last_name="Dunn", role="sa")
    other_team.members.add(user)
    return user


@pytest.fixture
def erin(db):
    """A curator."""
    return factories.UserFactory(
        username="erin", first_name="Erin", last_name="Ellis", role="curator"
    )


@pytest.fixture
def root(db):
    """An admin."""
    return factories.UserFactory(username="root", first_name="Ada", last_name="Admin", role="admin")


@pytest.fixture
def nobody(db):
    """Logged in, but with no EPOS role."""
    return factories.UserFactory(username="nobody")


@pytest.fixture
def process_and_stages(db):
    return factories.make_process(("Discovery", "Demo", "Proposal"), required_items=2)


@pytest.fixture
def process(process_and_stages):
    return process_and_stages[0]


@pytest.fixture
def stages(process_and_stages):
    return process_and_stages[1]


@pytest.fixture
def opportunity(alice, team, stages):
    return factories.OpportunityFactory(
        name="Acme observability", stage=stages[0], owner=alice, team=team
    )


@pytest.fixture
def api():
    """An API client; `api.as_user(user)` authenticates with a real API key header."""

    class KeyClient(APIClient):
        def as_user(self, user):
            _, raw = api_key_create(user=user)
            self.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
            return self

    return KeyClient()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Counters kept in the cache (failed API keys per address, the figures' generation) must
    # not carry from one test into the next.
    from django.core.cache import cache as default_cache

    default_cache.clear()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness buys nothing in tests and costs seconds per persona.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_in_process(settings):
    # CI exports a real broker; ordinary tests still run tasks in-process so no message is left
    # behind in Redis. The real-broker tests (tests/integrations/test_celery_worker.py,
    # tests/epos/test_stack.py) switch the broker on themselves.
    from epos.celery import app

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER = True
    # Deterministic: webhook deliveries run in the test's thread, not on a background one.
    settings.EPOS_TASKS_IN_BACKGROUND_THREAD = False
    yield
    app.conf.task_always_eager = saved


@pytest.fixture
def with_worker(settings, monkeypatch, tmp_path):
    """As in production: tasks go to a broker (recorded here instead of sent) and the cache is
    one the worker shares (files here, Redis in production), so stale figures are allowed."""
    settings.METRICS_CACHE_SECONDS = 300
    settings.METRICS_SERVE_STALE = True
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    queued = []
    monkeypatch.setattr(dashboard_refresh, "delay", lambda *args: queued.append(args))
    cache.clear()
    yield queued
    cache.clear()
