"""epos/settings.py read in fresh interpreters with a controlled environment.

Settings are evaluated once per process, so each case starts `python` (or `manage.py`) with
exactly the variables it is about; nothing leaks in from the developer's or CI's environment.
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

BASE_DIR = django_settings.BASE_DIR
A_SECRET_KEY = "settings-test-key-that-is-long-and-random-enough-0123456789"

# Prints the values a case asserts on; loading settings is all it does (no database access).
PROBE = """
import json
import django
django.setup()
from django.conf import settings
from epos.celery import app
database = settings.DATABASES["default"]
print(json.dumps({
    "engine": database["ENGINE"],
    "name": str(database["NAME"]),
    "host": database.get("HOST", ""),
    "port": database.get("PORT", ""),
    "user": database.get("USER", ""),
    "conn_max_age": database.get("CONN_MAX_AGE"),
    "debug": settings.DEBUG,
    "secret_key": settings.SECRET_KEY,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "cache_backend": settings.CACHES["default"]["BACKEND"],
    "hsts_seconds": settings.SECURE_HSTS_SECONDS,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "csrf_trusted": settings.CSRF_TRUSTED_ORIGINS,
    "cookies_secure": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
    "proxy_ssl_header": getattr(settings, "SECURE_PROXY_SSL_HEADER", None),
    "database_options": database.get("OPTIONS", {}),
    "always_eager": app.conf.task_always_eager,
    "broker_url": app.conf.broker_url,
}))
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-c", code], env)


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "manage.py", *args], env)


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "epos.settings", **env}
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        command, cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60, check=False
    )


def probe(**env: str) -> dict:
    result = run_python(PROBE, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_missing_secret_key_with_debug_off_stops_manage_py():
    result = run_manage("check", DEBUG="0")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_debug_defaults_to_off_so_an_empty_environment_also_needs_a_secret_key():
    result = run_python("import django; django.setup()")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_on_runs_without_a_secret_key_on_a_development_only_key():
    values = probe(DEBUG="1")

    assert values["debug"] is True
    assert values["secret_key"]
    assert values["allowed_hosts"] == ["127.0.0.1", "localhost"]


def test_production_settings_are_strict_by_default():
    values = probe(DEBUG="0", SECRET_KEY=A_SECRET_KEY)

    assert values["debug"] is False
    assert values["secret_key"] == A_SECRET_KEY
    assert values["allowed_hosts"] == []
    assert values["ssl_redirect"] is True
    assert values["hsts_seconds"] >= 31536000


@pytest.mark.parametrize(
    ("variable", "value", "kind"),
    [
        ("DEBUG", "maybe", "boolean"),
        ("SESSION_COOKIE_SECURE", "sometimes", "boolean"),
        ("SECURE_HSTS_SECONDS", "a-year", "integer"),
        ("CELERY_TASK_TIME_LIMIT", "90s", "integer"),
    ],
)
def test_malformed_value_is_improperly_configured_naming_the_variable(variable, value, kind):
    env = {"SECRET_KEY": A_SECRET_KEY, variable: value}

    result = run_python("import django; django.setup()", **env)

    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured")
    assert variable in last_line
    assert kind in last_line
    assert repr(value) in last_line


def test_malformed_connection_age_is_reported_when_a_database_url_is_set():
    result = run_python(
        "import django; django.setup()",
        SECRET_KEY=A_SECRET_KEY,
        DATABASE_URL="postgres://epos@db.internal:5433/epos",
        DB_CONN_MAX_AGE="forever",
    )

    assert result.returncode != 0
    assert "DB_CONN_MAX_AGE must be an integer" in result.stderr


def test_without_database_url_the_database_is_the_sqlite_file(tmp_path):
    sqlite_file = tmp_path / "embedded.sqlite3"

    values = probe(SECRET_KEY=A_SECRET_KEY, SQLITE_PATH=str(sqlite_file))

    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["name"] == str(sqlite_file)
    assert not sqlite_file.exists(), "reading settings must not create the database"


def test_a_sqlite_database_url_gets_the_options_of_the_default_file(tmp_path):
    default = probe(SECRET_KEY=A_SECRET_KEY, SQLITE_PATH=str(tmp_path / "a.sqlite3"))
    named = probe(SECRET_KEY=A_SECRET_KEY, DATABASE_URL=f"sqlite:///{tmp_path / 'b.sqlite3'}")

    assert named["engine"] == "django.db.backends.sqlite3"
    assert named["database_options"] == default["database_options"]
    assert named["database_options"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in named["database_options"]["init_command"]
    assert named["database_options"]["timeout"] == 20


def test_database_url_selects_postgresql_with_its_parts():
    values = probe(
        SECRET_KEY=A_SECRET_KEY,
        DATABASE_URL="postgres://epos_user@db.internal:5433/epos_prod",
        DB_CONN_MAX_AGE="0",
    )

    assert values["engine"] == "epos.db.postgresql"
    assert values["name"] == "epos_prod"
    assert values["host"] == "db.internal"
    assert values["port"] == 5433
    assert values["user"] == "epos_user"
    assert values["conn_max_age"] == 0


def test_without_broker_tasks_run_eagerly_in_process():
    values = probe(SECRET_KEY=A_SECRET_KEY)

    assert values["always_eager"] is True
    assert values["cache_backend"] == "django.core.cache.backends.locmem.LocMemCache"


def test_with_broker_tasks_go_to_it_and_the_cache_to_redis():
    values = probe(
        SECRET_KEY=A_SECRET_KEY,
        CELERY_BROKER_URL="redis://broker.internal:6379/3",
        REDIS_CACHE_URL="redis://cache.internal:6379/4",
    )

    assert values["always_eager"] is False
    assert values["broker_url"] == "redis://broker.internal:6379/3"
    assert values["cache_backend"] == "django.core.cache.backends.redis.RedisCache"


def test_allowed_hosts_is_a_comma_separated_list():
    values = probe(SECRET_KEY=A_SECRET_KEY, ALLOWED_HOSTS=" epos.example.com, .example.org ,")

    assert values["allowed_hosts"] == ["epos.example.com", ".example.org"]


def test_a_plain_http_site_url_serves_a_try_out_on_localhost():
    values = probe(SECRET_KEY=A_SECRET_KEY, EPOS_SITE_URL="http://localhost:8000")

    assert values["allowed_hosts"] == ["localhost", "127.0.0.1", "[::1]"]
    assert values["csrf_trusted"] == [
        "http://localhost:8000",
        "http://127.0.0.1:8000",
        "http://[::1]:8000",
    ]
    assert values["ssl_redirect"] is False
    assert values["cookies_secure"] == [False, False]
    assert values["hsts_seconds"] == 0


def test_an_https_site_url_is_strict_and_names_the_host():
    values = probe(SECRET_KEY=A_SECRET_KEY, EPOS_SITE_URL="https://epos.example.com")

    assert values["allowed_hosts"] == ["epos.example.com"]
    assert values["csrf_trusted"] == ["https://epos.example.com"]
    assert values["ssl_redirect"] is True
    assert values["cookies_secure"] == [True, True]
    assert values["hsts_seconds"] == 31536000


def test_explicit_values_win_over_the_site_url():
    values = probe(
        SECRET_KEY=A_SECRET_KEY,
        EPOS_SITE_URL="https://epos.example.com",
        ALLOWED_HOSTS="epos.internal",
        SECURE_SSL_REDIRECT="0",
    )

    assert values["allowed_hosts"] == ["epos.internal"]
    assert values["ssl_redirect"] is False


def test_django_never_takes_a_clients_word_for_https():
    # gunicorn decides (FORWARDED_ALLOW_IPS); Django reading X-Forwarded-Proto itself would let
    # any client that reaches the server claim HTTPS.
    values = probe(SECRET_KEY=A_SECRET_KEY, USE_X_FORWARDED_PROTO="1")

    assert values["proxy_ssl_header"] is None


@pytest.mark.parametrize("url", ["epos.example.com", "ftp://epos.example.com", "https://"])
def test_a_malformed_site_url_stops_the_start(url):
    result = run_python("import django; django.setup()", SECRET_KEY=A_SECRET_KEY, EPOS_SITE_URL=url)

    assert result.returncode != 0
    assert "EPOS_SITE_URL must look like" in result.stderr
