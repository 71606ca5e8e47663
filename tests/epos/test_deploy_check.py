"""Deployment guards: Django's deploy checks, the compose topology, the env template, the image.

No Docker engine runs here, so docker-compose.yml is checked by parsing it (PyYAML resolves the
`<<` merge keys the way compose does) and the Dockerfile by reading its instructions.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "deploy-check-7Hq2vN9xLw4pR8sT1uY6zB3cD5fG0jK-long-and-varied-enough",
    "ALLOWED_HOSTS": "epos.example.com",
}
APP_SERVICES = ("migrate", "web", "worker", "beat")
LONG_RUNNING = ("web", "worker", "beat", "postgres", "redis")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def _command(service: dict) -> str:
    command = service["command"]
    return " ".join(command) if isinstance(command, list) else command


def _healthcheck_test(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


def test_deploy_checks_pass_with_production_settings():
    env = {"PATH": os.environ.get("PATH", ""), **PRODUCTION_ENV}

    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_compose_runs_the_whole_topology(services):
    assert set(services) == {*APP_SERVICES, "postgres", "redis"}
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    assert _command(services["web"]).startswith("gunicorn --config gunicorn.conf.py")
    assert _command(services["worker"]).startswith("celery -A epos worker")
    assert _command(services["beat"]).startswith("celery -A epos beat")
    migrate = _command(services["migrate"])
    assert "manage.py migrate --noinput" in migrate
    assert "manage.py load_processes" in migrate


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_every_long_running_service_has_a_healthcheck(services, name):
    healthcheck = services[name]["healthcheck"]

    assert healthcheck["test"][0] in ("CMD", "CMD-SHELL")
    assert healthcheck.get("interval")
    assert healthcheck.get("retries", 0) >= 1


def test_healthchecks_probe_what_each_service_does(services):
    assert "/healthz" in _healthcheck_test(services["web"])
    assert "urllib" in _healthcheck_test(services["web"])
    assert "pg_isready" in _healthcheck_test(services["postgres"])
    assert "redis-cli ping" in _healthcheck_test(services["redis"])
    assert "inspect ping" in _healthcheck_test(services["worker"])
    # Beat answers Celery's own ping (through the broker), not a file's modification time.
    assert "inspect ping" in _healthcheck_test(services["beat"])
    assert "celerybeat@" in _healthcheck_test(services["beat"])
    assert "--enable-remote-control" in services["beat"]["command"]
    assert "healthcheck" not in services["migrate"]


def test_migrate_is_one_shot_and_gates_the_app_services(services):
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["postgres"]["condition"] == "service_healthy", name
        assert depends_on["redis"]["condition"] == "service_healthy", name


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_share_the_image_env_file_and_real_backends(services, name):
    service = services[name]
    environment = service["environment"]

    assert service["build"] == "."
    assert service["env_file"] == ".env"
    assert re.fullmatch(
        r"postgres://epos:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432/epos",
        environment["DATABASE_URL"],
    )
    assert environment["CELERY_BROKER_URL"] == "redis://redis:6379/0"
    assert environment["REDIS_CACHE_URL"].startswith("redis://redis:6379/")
    assert environment["REDIS_CACHE_URL"] != environment["CELERY_BROKER_URL"]
    assert "media:/app/media" in service["volumes"]


def test_data_lives_in_named_volumes(compose, services):
    assert set(compose["volumes"]) == {"postgres-data", "media"}
    assert "postgres-data:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert "volumes" not in services["redis"]


def test_compose_secrets_come_from_the_env_file_only(services):
    password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]

    assert password.startswith("${POSTGRES_PASSWORD")
    for name in APP_SERVICES:
        assert "SECRET_KEY" not in services[name]["environment"], name


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's variable interpolation: ${X}, ${X:-default}, ${X-default}, ${X:?error},
    ${X?error} and $$ (a literal $); a required variable that is missing raises ValueError."""

    def replace(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1), match.group(2) or "", match.group(3) or ""
        value = variables.get(name)
        if operator == ":-":
            return value if value else argument
        if operator == "-":
            return argument if value is None else value
        if operator == ":?" and not value:
            raise ValueError(f"required variable {name} is missing a value: {argument}")
        if operator == "?" and value is None:
            raise ValueError(f"required variable {name} is missing: {argument}")
        return value or ""

    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-|-|:\?|\?)?([^}]*)\}", replace, text)


def env_file_values(text: str) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in text.splitlines() if re.match(r"^[A-Z][A-Z0-9_]*=", line)
    )


def test_the_readme_steps_interpolate_the_compose_file():
    """README: `cp .env.example .env`, set SECRET_KEY, `docker compose up`. Nothing else may be
    required (an empty POSTGRES_PASSWORD once aborted the start)."""
    variables = env_file_values((BASE_DIR / ".env.example").read_text())
    variables["SECRET_KEY"] = "a-secret-key-for-this-test"

    resolved = yaml.safe_load(interpolate((BASE_DIR / "docker-compose.yml").read_text(), variables))

    app = resolved["services"]["web"]
    assert app["environment"]["DATABASE_URL"] == "postgres://epos:epos@postgres:5432/epos"
    assert resolved["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"] == "epos"
    # Published on loopback only: a TLS proxy on the host (or a browser on it) reaches it.
    assert app["ports"] == ["127.0.0.1:8000:8000"]
    chosen = interpolate(
        "${POSTGRES_PASSWORD:-epos} ${EPOS_HTTP_BIND:-127.0.0.1}",
        {"POSTGRES_PASSWORD": "s3cret", "EPOS_HTTP_BIND": "0.0.0.0"},  # noqa: S104 - a string under test
    )
    assert chosen == "s3cret 0.0.0.0"


def test_interpolation_refuses_what_compose_refuses():
    with pytest.raises(ValueError, match="PASSWORD"):
        interpolate("${PASSWORD:?set it}", {"PASSWORD": ""})
    assert interpolate("$${HOSTNAME} ${A-x} ${B:-y}", {"A": "", "B": ""}) == "${HOSTNAME}  y"


def test_compose_file_is_valid_against_the_compose_specification():
    """Validated with the Compose specification's JSON schema as vendored by check-jsonschema."""
    from importlib.resources import files

    import jsonschema

    schema = json.loads(
        files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text()
    )
    compose = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())

    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda error: list(error.path))

    assert [f"{list(e.path)}: {e.message}" for e in errors] == []
    assert schema["$id"] == "compose_spec.json"
    assert "service_completed_successfully" in json.dumps(schema)  # a current specification
    broken = {**compose, "services": {"web": {"ports": "8000:8000"}}}
    assert list(validator.iter_errors(broken)), "the schema must catch a malformed file"


def _variables_read_by_the_code() -> set[str]:
    pattern = re.compile(r"\benv_(?:str|bool|int|list)\(\s*\"([A-Z0-9_]+)\"")
    skipped = {".venv", "node_modules", "tests", ".git"}
    found = set()
    for path in BASE_DIR.rglob("*.py"):
        if skipped.isdisjoint(path.relative_to(BASE_DIR).parts):
            found.update(pattern.findall(path.read_text()))
    return found


def _documented_variables() -> set[str]:
    text = (BASE_DIR / ".env.example").read_text()
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def test_env_example_documents_every_variable_the_settings_read():
    read = _variables_read_by_the_code()

    assert {"SECRET_KEY", "DEBUG", "DATABASE_URL", "CELERY_BROKER_URL"} <= read
    assert read - _documented_variables() == set()


def test_env_example_holds_no_secret():
    active = env_file_values((BASE_DIR / ".env.example").read_text())

    assert active["SECRET_KEY"] == ""
    assert active["POSTGRES_PASSWORD"] == ""
    assert active["DEBUG"] == "0"
    assert "EPOS_ENCRYPTION_KEYS" not in active


def test_dockerfile_builds_a_non_root_image_serving_gunicorn():
    instructions = [
        line.strip()
        for line in (BASE_DIR / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    froms = [line for line in instructions if line.startswith("FROM ")]
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]

    # A Node release still in long-term support (node 20 reached end of life in April 2026).
    assert froms[0].startswith("FROM node:24-slim AS frontend")
    assert froms[-1].startswith("FROM python:3.11-slim")
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any("pip install --requirement requirements.txt" in line for line in instructions)
    assert any("COPY --from=frontend" in line and "static/vendor" in line for line in instructions)
    assert any("collectstatic --noinput" in line for line in instructions)
    assert instructions[-1] == 'CMD ["gunicorn", "--config", "gunicorn.conf.py"]'
    assert not any(line.startswith(("ENV SECRET_KEY", "ARG SECRET_KEY")) for line in instructions)


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_image():
    ignored = set((BASE_DIR / ".dockerignore").read_text().split())

    assert {".env", ".git", ".venv", "**/node_modules", "db.sqlite3", "media"} <= ignored
    # Test and tool caches: stale bytecode and results have no place in an image.
    assert {"**/.pytest_cache", "**/.ruff_cache", ".hypothesis", ".coverage", "htmlcov"} <= ignored


def test_gunicorn_config_takes_workers_and_bind_from_the_environment():
    code = (
        "import runpy, json; c = runpy.run_path('gunicorn.conf.py');"
        "print(json.dumps([c['workers'], c['bind'], c['wsgi_app']]))"
    )
    env = {"PATH": os.environ.get("PATH", "")}

    defaults = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    tuned = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**env, "WEB_CONCURRENCY": "2", "GUNICORN_BIND": "0.0.0.0:9000"},
        capture_output=True,
        text=True,
        check=True,
    )

    assert json.loads(defaults.stdout) == [4, "127.0.0.1:8000", "epos.wsgi:application"]
    assert json.loads(tuned.stdout) == [2, "0.0.0.0:9000", "epos.wsgi:application"]
