"""The README's "Deploy with Docker", followed step by step with each compose service's command
run as a process here (no Docker engine runs on this machine).

`.env.example` copied with SECRET_KEY and the first admin set, as the README says; the commands
and health checks are read from docker-compose.yml; only the addresses of PostgreSQL and Redis
(compose's `postgres` and `redis`) point at a database and a Redis server of this test's own.
The figure that matters to an operator, the time from `up` to a logged-in admin, is printed.
"""

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import requests
import yaml
from django.conf import settings
from django.db import connection

from tests.conftest import require_service
from tests.epos.test_deploy_check import env_file_values, interpolate
from tests.epos.test_stack import free_port
from tests.integrations.test_celery_worker import stop_process
from tests.integrations.test_webhook_worker import OwnRedis

pytestmark = [pytest.mark.postgres, pytest.mark.services]

BASE_DIR = Path(settings.BASE_DIR)
ADMIN_PASSWORD = "docker-path-admin-pw-8317"  # noqa: S105 - a test's own throwaway account
START_TIMEOUT = 60.0


def compose_services(variables: dict[str, str]) -> dict:
    text = interpolate((BASE_DIR / "docker-compose.yml").read_text(), variables)
    return yaml.safe_load(text)["services"]


def argv(command) -> list[str]:
    return command if isinstance(command, list) else shlex.split(command)


class Deployment:
    """The compose services as processes; every one started here is stopped here, by pid."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env = env
        self.logs = logs
        self.processes: dict[str, subprocess.Popen] = {}

    def run_once(self, name: str, command: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603 - the compose file's own command
            command,
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def start(self, name: str, command: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(  # noqa: S603 - the compose file's own command
            command, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            stop_process(process)


def run_sql(dsn: dict, statement: str) -> None:
    # Not `with connect()`: psycopg2 opens a transaction there, where CREATE DATABASE cannot run.
    admin = psycopg2.connect(**dsn)
    try:
        admin.autocommit = True
        admin.cursor().execute(statement)
    finally:
        admin.close()


@pytest.fixture(scope="module")
def deployment(django_db_setup, tmp_path_factory):
    require_service("PostgreSQL", connection.vendor == "postgresql", "compose runs PostgreSQL")
    params = connection.settings_dict
    database = f"epos_docker_{uuid.uuid4().hex[:8]}"
    admin_dsn = {
        "host": params.get("HOST") or "127.0.0.1",
        "port": params.get("PORT") or 5432,
        "user": params["USER"],
        "password": params.get("PASSWORD") or None,
        "dbname": "postgres",
    }
    run_sql(admin_dsn, f'CREATE DATABASE "{database}"')
    redis_server = OwnRedis(tmp_path_factory.mktemp("redis"))
    redis_server.start()
    port = free_port()
    site = f"http://localhost:{port}"

    # README step 1: cp .env.example .env, then set SECRET_KEY and the first admin.
    variables = env_file_values((BASE_DIR / ".env.example").read_text())
    variables.update(
        SECRET_KEY="docker-path-" + uuid.uuid4().hex * 2,
        EPOS_ADMIN_EMAIL="ops@example.com",
        EPOS_ADMIN_PASSWORD=ADMIN_PASSWORD,
        # The compose file publishes 8000; this machine may have it taken, so the test's port.
        EPOS_SITE_URL=site,
    )
    services = compose_services(variables)
    credentials = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
    env = {
        # The image puts python, gunicorn and celery on PATH; here they are the venv's.
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108
        **{name: value for name, value in variables.items() if value != ""},
        **services["web"]["environment"],
        # Compose's service names stand for the test's own PostgreSQL database and Redis.
        "DATABASE_URL": f"postgres://{credentials}@{admin_dsn['host']}:{admin_dsn['port']}/{database}",
        "CELERY_BROKER_URL": redis_server.url,
        "REDIS_CACHE_URL": redis_server.url.replace("/0", "/1"),
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")),
        # The image's ENV (Dockerfile); loopback here, where the container has its own network.
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "HOSTNAME": socket.gethostname(),
        "PYTHONUNBUFFERED": "1",
    }
    deployment = Deployment(env, tmp_path_factory.mktemp("compose"))
    deployment.site = site
    deployment.services = services
    deployment.redis = redis_server
    try:
        started = time.monotonic()
        # The image runs collectstatic at build time.
        built = deployment.run_once(
            "build", [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"]
        )
        assert built.returncode == 0, built.stderr
        deployment.migrate = deployment.run_once("migrate", argv(services["migrate"]["command"]))
        assert deployment.migrate.returncode == 0, deployment.migrate.stderr
        for name in ("web", "worker", "beat"):
            deployment.start(name, argv(services[name]["command"]))
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if requests.get(f"{site}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not up yet, or too busy to answer in time
                pass
            assert time.monotonic() < deadline, deployment.log("web")
            time.sleep(0.2)
        deployment.healthy_after = time.monotonic() - started
        deployment.started = started
        yield deployment
    finally:
        deployment.stop()
        redis_server.stop()
        run_sql(admin_dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def log_in(site: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{site}/accounts/login/", timeout=10)
    assert page.status_code == 200, page.text[:300]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    answer = session.post(
        f"{site}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{site}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:500]
    return session


def test_the_migrate_service_loads_and_creates_the_first_admin(deployment):
    said = deployment.migrate.stdout

    assert "Created the admin 'admin' (ops@example.com)" in said
    assert "catalog.challenge:" in said


def test_a_new_operator_reaches_a_logged_in_admin_over_plain_http_on_localhost(deployment):
    session = log_in(deployment.site, "admin", ADMIN_PASSWORD)
    home = session.get(f"{deployment.site}/", timeout=10)
    elapsed = time.monotonic() - deployment.started

    assert home.status_code == 200
    assert "Log out" in home.text
    assert 'href="/admin/"' in home.text
    # On 127.0.0.1 too, as a browser on the same machine might type it.
    assert (
        requests.get(
            f"{deployment.site.replace('localhost', '127.0.0.1')}/accounts/login/", timeout=10
        ).status_code
        == 200
    )
    print(
        f"\nDocker path: healthy {deployment.healthy_after:.1f} s after `up` "
        f"(collectstatic, migrate, loaders, first admin included); "
        f"logged-in admin after {elapsed:.1f} s"
    )


def test_a_restart_of_migrate_keeps_the_admin_and_its_password(deployment):
    again = deployment.run_once("migrate", argv(deployment.services["migrate"]["command"]))

    assert again.returncode == 0, again.stderr
    assert "An admin exists already" in again.stdout
    log_in(deployment.site, "admin", ADMIN_PASSWORD)


def test_compose_health_checks_pass_on_the_running_services(deployment):
    for name in ("web", "worker", "beat"):
        test = deployment.services[name]["healthcheck"]["test"]
        command = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
        # The container's port 8000 is this test's port.
        command = [
            part.replace("127.0.0.1:8000", deployment.env["GUNICORN_BIND"]) for part in command
        ]
        result = deployment.run_once(f"health-{name}", command)
        assert result.returncode == 0, f"{name}: {result.stdout}{result.stderr}"


def test_beats_health_check_fails_while_the_broker_is_down(deployment):
    test = deployment.services["beat"]["healthcheck"]["test"][1]
    command = ["sh", "-c", test]

    deployment.redis.stop()
    try:
        down = deployment.run_once("health-beat", command)
    finally:
        deployment.redis.start()

    assert down.returncode != 0
    # Beat reconnects by itself and answers again.
    deadline = time.monotonic() + 30
    while deployment.run_once("health-beat", command).returncode != 0:
        assert time.monotonic() < deadline, deployment.log("beat")
        time.sleep(1)


@pytest.mark.parametrize(("allowed", "trusted"), [("10.255.255.1", False), ("127.0.0.1", True)])
def test_only_the_proxys_address_may_say_a_request_came_over_https(
    deployment, tmp_path, allowed, trusted
):
    """Behind a TLS proxy (EPOS_SITE_URL https): gunicorn believes X-Forwarded-Proto only from
    FORWARDED_ALLOW_IPS. From anywhere else the claim is ignored and the visitor is sent to
    https, so a client that reaches the port directly cannot pass for a secure one."""
    port = free_port()
    behind_proxy = Deployment(
        {
            **deployment.env,
            "EPOS_SITE_URL": "https://epos.test",
            "FORWARDED_ALLOW_IPS": allowed,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
        },
        tmp_path,
    )
    behind_proxy.start("web", argv(deployment.services["web"]["command"]))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if requests.get(f"{url}/healthz", headers={"Host": "epos.test"}, timeout=2).ok:
                    break
            except requests.RequestException:  # not up yet, or too busy to answer in time
                pass
            assert time.monotonic() < deadline, behind_proxy.log("web")
            time.sleep(0.2)

        answer = requests.get(
            f"{url}/accounts/login/",
            headers={"Host": "epos.test", "X-Forwarded-Proto": "https"},
            allow_redirects=False,
            timeout=10,
        )
    finally:
        behind_proxy.stop()

    if trusted:
        assert answer.status_code == 200
        assert "Secure" in answer.headers["Set-Cookie"]
    else:
        assert answer.status_code == 301
        assert answer.headers["Location"] == "https://epos.test/accounts/login/"
