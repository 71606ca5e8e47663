"""The Zapier app in zapier/ against a live EPOS: its jest tests, run by `make test`.

pytest-django's live server serves EPOS on loopback with a seeded SA (alice, with an API key),
her team, a process whose open stages each have two required items, and a deal of hers with an
external id. The jest tests (zapier/test/) drive the app through zapier-platform-core's
`createAppTester`: the auth test call, REST-hook subscribe → signed delivery to a receiver on
127.0.0.1 → perform → performList → unsubscribe, every create, search and dropdown.

Needs Node.js (skips without it, unless EPOS_REQUIRE_SERVICES=1) and zapier/node_modules
(`make install`, or `npm ci --prefix zapier`).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType

from epos.models import ExternalRef
from epos.services import api_key_create, api_key_revoke
from tests.conftest import require_service

pytestmark = pytest.mark.django_db(transaction=True)

ZAPIER_DIR = Path(__file__).resolve().parents[2] / "zapier"
JEST = ZAPIER_DIR / "node_modules" / "jest" / "bin" / "jest.js"
JEST_TIMEOUT = 300  # seconds, for the whole jest run
EXPECTED_PASSED = 42  # every jest test in zapier/test/, none skipped
EXTERNAL_ID = "SF-006000000ZAPIER"


def _summary(report: dict) -> str:
    lines = [
        f"jest: {report.get('numPassedTests')} passed, {report.get('numFailedTests')} failed, "
        f"{report.get('numPendingTests')} skipped of {report.get('numTotalTests')}"
    ]
    for suite in report.get("testResults", []):
        for result in suite.get("assertionResults", []):
            if result.get("status") != "passed":
                lines.append(f"  {result.get('status')}: {result.get('fullName')}")
                lines.extend(
                    f"    {message[:2000]}" for message in result.get("failureMessages", [])
                )
        if (
            suite.get("status") == "failed"
            and suite.get("message")
            and not suite.get("assertionResults")
        ):
            lines.append(f"  suite failed: {suite.get('name')}\n{suite['message'][:4000]}")
    return "\n".join(lines)


def test_zapier_app_against_live_epos(
    live_server, settings, tmp_path, alice, team, process, stages, opportunity
):
    node = shutil.which("node")
    require_service("Node.js", node is not None, "`node` is not on PATH")
    assert JEST.exists(), (
        f"{JEST} is missing: run `make install` (or `npm ci --prefix zapier`) to install the "
        "Zapier app's packages."
    )

    # Deliveries go to the jest receiver on 127.0.0.1, which EPOS refuses by default.
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True

    ExternalRef.objects.create(
        system="salesforce",
        kind="opportunity",
        external_id=EXTERNAL_ID,
        content_type=ContentType.objects.get_for_model(opportunity),
        object_id=opportunity.pk,
    )
    # An integration key, as an admin issues one for Zapier: what it records is marked 'zapier'.
    _, api_key = api_key_create(user=alice, name="zapier tests", system="zapier")
    revoked, bad_key = api_key_create(user=alice, name="revoked")
    api_key_revoke(key=revoked)

    report_path = tmp_path / "jest.json"
    env = {
        **os.environ,
        "CI": "1",
        "FORCE_COLOR": "0",
        "EPOS_BASE_URL": live_server.url,
        "EPOS_API_KEY": api_key,
        "EPOS_BAD_API_KEY": bad_key,
        "EPOS_OPPORTUNITY_ID": str(opportunity.pk),
        "EPOS_PROCESS_ID": str(process.pk),
        "EPOS_EXTERNAL_ID": EXTERNAL_ID,
    }
    try:
        run = subprocess.run(  # noqa: S603 - node from PATH running our own jest
            [
                node,
                str(JEST),
                "--ci",
                "--runInBand",
                "--colors=false",
                "--json",
                f"--outputFile={report_path}",
            ],
            cwd=ZAPIER_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=JEST_TIMEOUT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"jest did not finish within {JEST_TIMEOUT}s\n--- stdout ---\n{exc.stdout}\n"
            f"--- stderr ---\n{exc.stderr}"
        )

    output = f"--- jest stdout ---\n{run.stdout}\n--- jest stderr ---\n{run.stderr}"
    assert report_path.exists(), f"jest wrote no report (exit {run.returncode})\n{output}"
    report = json.loads(report_path.read_text())
    summary = _summary(report)
    assert run.returncode == 0, f"jest exited {run.returncode}\n{summary}\n{output}"
    assert report["numFailedTests"] == 0, f"{summary}\n{output}"
    assert report["numPendingTests"] == 0, f"jest skipped tests\n{summary}\n{output}"
    assert report["numPassedTests"] == EXPECTED_PASSED, (
        f"expected {EXPECTED_PASSED} passed jest tests\n{summary}\n{output}"
    )
    # jest prints its summary on stderr; the run above is the one reported.
    assert f"Tests:       {EXPECTED_PASSED} passed, {EXPECTED_PASSED} total" in run.stderr, output
