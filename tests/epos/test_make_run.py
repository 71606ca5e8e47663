"""`make run` as a new user runs it: DEBUG off, styled error pages, static files served, a
secret key made once and kept out of git. Started on a port and a SQLite file of the test's own;
the process group it started is stopped by pid."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings

from tests.conftest import require_service
from tests.epos.test_stack import free_port

BASE_DIR = Path(settings.BASE_DIR)
START_TIMEOUT = 240.0


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    require_service("make", shutil.which("make") is not None, "not installed")
    port = free_port()
    log_path = tmp_path_factory.mktemp("make-run") / "run.log"
    env = {
        key: value
        for key, value in os.environ.items()
        # The embedded default: no database, broker or cache URL, whatever CI exports.
        if key
        not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_CACHE_URL", "SECRET_KEY", "DEBUG")
    }
    env.update(PORT=str(port), SQLITE_PATH=str(log_path.parent / "run.sqlite3"))
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - the project's own make target
            [shutil.which("make"), "run"],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # not up yet, or too busy to answer in time
                pass
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def test_an_unknown_page_is_the_styled_404_not_a_debug_page(served):
    response = requests.get(f"{served}/no-such-page/", timeout=10)

    assert response.status_code == 404
    assert "URLconf" not in response.text  # Django's debug page lists every URL pattern
    assert "DEBUG = True" not in response.text
    assert '<link rel="stylesheet"' in response.text


def test_static_files_are_served_and_the_login_works_over_plain_http(served):
    page = requests.get(f"{served}/accounts/login/", timeout=10)
    stylesheet = page.text.split('<link rel="stylesheet" href="', 1)[1].split('"', 1)[0]

    assert page.status_code == 200
    assert requests.get(f"{served}{stylesheet}", timeout=10).status_code == 200
    session = requests.Session()
    form = session.get(f"{served}/accounts/login/", timeout=10)
    token = form.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    answer = session.post(
        f"{served}/accounts/login/",
        data={"username": "sa1", "password": "epos-demo", "csrfmiddlewaretoken": token},
        headers={"Referer": f"{served}/accounts/login/"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 302, answer.text[:300]
    assert session.get(f"{served}/", timeout=10).status_code == 200


def test_the_secret_key_is_made_once_and_ignored_by_git(served):
    secret = (BASE_DIR / ".secret_key").read_text().strip()
    ignored = subprocess.run(  # noqa: S603
        ["git", "check-ignore", ".secret_key"],  # noqa: S607
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )

    assert len(secret) >= 50
    assert ignored.returncode == 0
    assert (BASE_DIR / ".secret_key").stat().st_mode & 0o077 == 0
