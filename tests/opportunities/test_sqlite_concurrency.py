"""Two people move the same deal at the same moment on a SQLite database named by
DATABASE_URL (the embedded stack behind gunicorn with two workers): one move wins (200) and the
other is told the deal changed (409), never "database is locked" (500)."""

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from django.conf import settings

from tests.conftest import require_service
from tests.epos.test_stack import free_port
from tests.integrations.test_celery_worker import stop_process

ROUNDS = 25

SETUP = """
from tests import factories
from epos.services import api_key_create
process, stages = factories.make_process(("Discovery", "Demo", "Proposal"))
team = factories.TeamFactory()
users = [factories.UserFactory(username=f"sa{n}", role="sa") for n in (1, 2)]
for user in users:
    team.members.add(user)
deal = factories.OpportunityFactory(stage=stages[0], owner=users[0], team=team)
keys = [api_key_create(user=user)[1] for user in users]
print(deal.pk, stages[0].pk, stages[1].pk, stages[2].pk, *keys)
"""


def test_simultaneous_moves_answer_200_and_409(tmp_path):
    require_service(
        "gunicorn", shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is not None
    )
    port = free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        "DEBUG": "0",
        "SECRET_KEY": "sqlite-concurrency-" + "x" * 40,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'race.sqlite3'}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_MANIFEST": "0",
        "EPOS_TASKS_IN_BACKGROUND_THREAD": "0",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
    }
    run = {"cwd": settings.BASE_DIR, "env": env, "capture_output": True, "text": True}
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], check=False, **run
    )  # noqa: S603
    assert migrated.returncode == 0, migrated.stderr
    made = subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP], check=False, **run)  # noqa: S603
    assert made.returncode == 0, made.stderr
    # The last line: `shell` may first say which objects it imported.
    deal, discovery, demo, proposal, *keys = made.stdout.strip().splitlines()[-1].split()
    log = (tmp_path / "web.log").open("w")
    server = subprocess.Popen(  # noqa: S603 - gunicorn from our venv
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:  # not up yet, or too busy to answer in time
                pass
            assert time.monotonic() < deadline, (tmp_path / "web.log").read_text()
            time.sleep(0.2)

        rounds = []
        for _ in range(ROUNDS):
            current = requests.get(
                f"{base}/api/v1/opportunities/{deal}/",
                headers={"Authorization": f"Token {keys[0]}"},
                timeout=10,
            ).json()
            targets = [
                stage
                for stage in (discovery, demo, proposal)
                if int(stage) != current["stage"]["id"]
            ]
            answers = []
            start = threading.Barrier(2)

            def move(stage, version=current["version"], start=start, answers=answers):
                start.wait()
                answers.append(
                    requests.post(
                        f"{base}/api/v1/opportunities/{deal}/move/",
                        json={
                            "stage": int(stage),
                            "expected_version": version,
                            "override_reason": "race",
                        },
                        # The same SA in two tabs (another SA may not move this deal at all).
                        headers={"Authorization": f"Token {keys[0]}"},
                        timeout=30,
                    )
                )

            threads = [threading.Thread(target=move, args=(stage,)) for stage in targets]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            rounds.append(answers)
    finally:
        stop_process(server)

    for answers in rounds:
        assert sorted(answer.status_code for answer in answers) == [200, 409], [
            answer.text[:200] for answer in answers
        ]
        conflict = next(answer for answer in answers if answer.status_code == 409)
        assert "changed by someone else" in conflict.json()["detail"]
