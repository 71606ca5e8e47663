"""The production topology with real processes: gunicorn (2 workers), a Celery worker and
Celery beat, started as `make stack` and docker-compose.yml start them, against the test
database (PostgreSQL) and a Redis database of their own. Requests go over real HTTP.

The processes start once for the module and are always stopped by the fixture's finalizer.
"""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
import yaml
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from epos.models import OutboxMessage
from epos.services import api_key_create
from opportunities.services import opportunity_move_to_stage
from tests.conftest import require_service

# The helpers that find Redis, claim a database on it and describe the test database are shared
# with the worker test rather than copied.
from tests.integrations.test_celery_worker import (
    assert_worker_ran_dispatch_for,
    claim_redis_database,
    database_url_of_test_database,
    redis_available,
    redis_server_url,
    stop_process,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
]

HOST = "epos.test"
STARTUP_TIMEOUT = 25.0
DISPATCH_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_pids(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


class Stack:
    def __init__(self, base_url: str, logs: Path, broker_url: str):
        self.base_url = base_url
        self.logs = logs
        self.broker_url = broker_url
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str], env: dict) -> None:
        with (self.logs / f"{name}.log").open("w") as log_file:
            self.processes[name] = subprocess.Popen(  # noqa: S603 - our own interpreter
                [sys.executable, "-m", *command],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def all_logs(self) -> str:
        return "\n".join(f"--- {name}\n{self.log(name)}" for name in self.processes)

    def assert_alive(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, f"{name} exited:\n{self.all_logs()}"

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def request(self, method: str, path: str, *, headers=None, **kwargs) -> requests.Response:
        # As behind the TLS-terminating load balancer: the site's own host name, and HTTPS
        # announced by the proxy (gunicorn trusts it from loopback, Django from the setting).
        headers = {"Host": HOST, "X-Forwarded-Proto": "https", **(headers or {})}
        return requests.request(
            method,
            self.base_url + path,
            headers=headers,
            timeout=10,
            allow_redirects=False,
            **kwargs,
        )

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            self.assert_alive()
            try:
                if self.get("/healthz").status_code == 200:
                    return
            except requests.RequestException:  # not up yet, or too busy to answer in time
                pass
            time.sleep(0.3)
        pytest.fail(f"gunicorn did not answer /healthz in {STARTUP_TIMEOUT}s:\n{self.all_logs()}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            stop_process(process)


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory):
    require_service("PostgreSQL", connection.vendor == "postgresql", "the stack shares a database")
    server_url = redis_server_url()
    require_service("Redis", *redis_available(server_url))

    broker_url = f"{server_url}/{claim_redis_database(server_url, f'{os.getpid()}:{__name__}')}"
    # The cache the web processes and the worker share, as REDIS_CACHE_URL in docker-compose.
    cache_url = (
        f"{server_url}/{claim_redis_database(server_url, f'{os.getpid()}:{__name__}:cache')}"
    )
    port = free_port()
    logs = tmp_path_factory.mktemp("stack")
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ALLOWED_HOSTS": HOST,
        "DATABASE_URL": database_url_of_test_database(),
        "CELERY_BROKER_URL": broker_url,
        # No collectstatic here: the API and /healthz render no static asset.
        "STATIC_MANIFEST": "0",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
    }
    env["REDIS_CACHE_URL"] = cache_url
    stack = Stack(f"http://127.0.0.1:{port}", logs, broker_url)
    try:
        stack.start("web", ["gunicorn", "--config", "gunicorn.conf.py"], env)
        stack.start(
            "worker",
            ["celery", "-A", "epos", "worker", "--loglevel=INFO", "--concurrency=1"],
            env,
        )
        stack.start(
            "beat",
            ["celery", "-A", "epos", "beat", "--loglevel=INFO", f"--schedule={logs / 'beat'}"],
            env,
        )
        stack.wait_until_healthy()
        yield stack
    finally:
        stack.stop()
        redis.Redis.from_url(broker_url).flushdb()
        redis.Redis.from_url(cache_url).flushdb()


def test_healthz_reports_database_and_broker_ok(stack):
    response = stack.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_gunicorn_runs_the_two_configured_workers(stack):
    assert len(child_pids(stack.processes["web"].pid)) == 2


def test_plain_http_is_redirected_to_https_and_foreign_hosts_are_refused(stack):
    plain = stack.get("/api/v1/opportunities/", headers={"X-Forwarded-Proto": "http"})
    foreign = stack.get("/healthz", headers={"Host": "attacker.example"})

    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://{HOST}/api/v1/opportunities/"
    assert foreign.status_code == 400


@pytest.mark.parametrize(("allowed_hosts", "healthy"), [(HOST, True), ("other.example", False)])
def test_compose_web_healthcheck_judges_the_running_server(stack, allowed_hosts, healthy):
    compose = yaml.safe_load((Path(settings.BASE_DIR) / "docker-compose.yml").read_text())
    command = compose["services"]["web"]["healthcheck"]["test"]
    assert command[:3] == ["CMD", "python", "-c"]
    code = command[3].replace("127.0.0.1:8000", stack.base_url.removeprefix("http://"))

    result = subprocess.run(  # noqa: S603 - the compose health check, run by our interpreter
        [sys.executable, "-c", code],
        env={"PATH": os.environ.get("PATH", ""), "ALLOWED_HOSTS": allowed_hosts},
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )

    assert (result.returncode == 0) is healthy, result.stderr


def test_opportunity_created_over_http_is_dispatched_by_the_worker(stack, alice, process):
    _, raw_key = api_key_create(user=alice, name="stack test")

    anonymous = stack.request("POST", "/api/v1/opportunities/", json={"name": "x"})
    response = stack.request(
        "POST",
        "/api/v1/opportunities/",
        json={"name": "Initech observability", "process": process.pk},
        headers={"Authorization": f"Token {raw_key}"},
    )

    assert anonymous.status_code == 401
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["name"] == "Initech observability"
    message = OutboxMessage.objects.get(
        topic="opportunity.created", payload__opportunity_id=created["id"]
    )
    deadline = time.monotonic() + DISPATCH_TIMEOUT
    while message.dispatched_at is None and time.monotonic() < deadline:
        stack.assert_alive()
        time.sleep(0.2)
        message.refresh_from_db()
    assert message.dispatched_at is not None, stack.all_logs()
    assert message.attempts == 1
    assert_worker_ran_dispatch_for(stack.log("worker"), message.pk)
    assert "beat: Starting..." in stack.log("beat")
    stack.assert_alive()


class BehindTheProxy(requests.Session):
    """A browser talking to the site through the TLS-terminating proxy: the cookies are set
    Secure, and the hop from the proxy to gunicorn is plain HTTP, so they are sent anyway."""

    def request(self, *args, **kwargs):
        response = super().request(*args, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response


def _logged_in(stack: Stack, user) -> requests.Session:
    """A browser's session over real HTTP: the login form with its CSRF token."""
    # The tests hash passwords with MD5 for speed; the server only knows the production
    # hashers, so the password is stored with one of them (few iterations: it is a test).
    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode("pw-for-tests", hasher.salt(), iterations=1000)
    user.save(update_fields=["password"])
    session = BehindTheProxy()
    session.headers.update({"Host": HOST, "X-Forwarded-Proto": "https"})
    page = session.get(stack.base_url + "/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        stack.base_url + "/accounts/login/",
        data={"username": user.username, "password": "pw-for-tests", "csrfmiddlewaretoken": token},
        headers={"Referer": f"https://{HOST}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


def test_dashboard_after_a_move_shows_the_last_figures_until_the_worker_refreshed_them(
    stack, carol, opportunity, stages
):
    session = _logged_in(stack, carol)
    url = f"{stack.base_url}/dashboards/?process={opportunity.process_id}&period=all"
    first = session.get(url, timeout=30)
    assert first.status_code == 200, first.text[:500]
    assert 'id="stale-figures"' not in first.text

    opportunity_move_to_stage(
        opportunity=opportunity, to_stage=stages[1], actor=carol, override_reason="stack test"
    )
    stale = session.get(url, timeout=30)
    assert 'id="stale-figures"' in stale.text, stale.text[:500]
    token = re.search(r"freshness/\?token=([0-9a-f]+)", stale.text).group(1)

    # The page polls this; the worker computes the figures and the answer turns into a reload.
    deadline = time.monotonic() + DISPATCH_TIMEOUT
    poll = session.get(f"{stack.base_url}/dashboards/freshness/?token={token}", timeout=10)
    while poll.status_code == 204 and time.monotonic() < deadline:
        stack.assert_alive()
        time.sleep(0.3)
        poll = session.get(f"{stack.base_url}/dashboards/freshness/?token={token}", timeout=10)
    assert poll.status_code == 200 and poll.headers["HX-Refresh"] == "true", stack.all_logs()
    assert "metrics.tasks.dashboard_refresh" in stack.log("worker")

    fresh = session.get(url, timeout=30)
    assert fresh.status_code == 200
    assert 'id="stale-figures"' not in fresh.text
