"""Moves racing other writes of the same deal, on PostgreSQL's row locks."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from rest_framework.test import APIClient

from epos.services import api_key_create
from opportunities.models import ChecklistCompletion, Opportunity, StageTransition
from tests import factories


@pytest.mark.django_db(transaction=True)
def test_concurrent_moves_with_the_same_version_write_exactly_one_transition(postgres_only):
    team = factories.TeamFactory()
    owner = factories.UserFactory(username="racer", role="sa")
    team.members.add(owner)
    _, stages = factories.make_process(("Discovery", "Demo", "Proposal"))
    opportunity = factories.OpportunityFactory(stage=stages[0], owner=owner, team=team)
    _, raw = api_key_create(user=owner)
    url = reverse("api:opportunity-move", args=[opportunity.pk])
    targets = [stages[1], stages[2]]
    barrier = threading.Barrier(len(targets))
    results = []

    def move(target):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
            barrier.wait(timeout=10)
            response = client.post(url, {"stage": target.pk, "expected_version": 1}, format="json")
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(code for code, _ in results) == [200, 409]
    conflict = next(body for code, body in results if code == 409)
    assert conflict["current_version"] == 2
    opportunity.refresh_from_db()
    assert opportunity.version == 2
    moves = StageTransition.objects.filter(opportunity=opportunity, from_stage__isnull=False)
    assert moves.count() == 1
    assert moves.get().to_stage == opportunity.stage
    assert not ChecklistCompletion.objects.exists()


def _wait_until_a_backend_waits_for_a_lock(results, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # Inside a transaction the activity view is a snapshot taken at its first read.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.02)
    pytest.fail(f"the move never waited for the deal's lock: {results}")


@pytest.mark.django_db(transaction=True)
def test_a_move_that_waited_for_an_edit_answers_with_the_relations_the_edit_set(postgres_only):
    """The move reads the deal under its lock together with what its answer prints. When an edit
    of the deal's account commits while the move waits, PostgreSQL hands the move the new row
    joined to the account it read before; the answer must still name the new account."""
    team = factories.TeamFactory()
    owner = factories.UserFactory(username="waiter", role="sa")
    team.members.add(owner)
    _, stages = factories.make_process(("Discovery", "Demo"))
    before, after = factories.AccountFactory(name="Before"), factories.AccountFactory(name="After")
    opportunity = factories.OpportunityFactory(
        stage=stages[0], owner=owner, team=team, account=before
    )
    _, raw = api_key_create(user=owner)
    results = []

    def move():
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
            response = client.post(
                reverse("api:opportunity-move", args=[opportunity.pk]),
                {"stage": stages[1].pk},
                format="json",
            )
            results.append((response.status_code, response.json()))
        finally:
            connection.close()

    with transaction.atomic():
        Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        mover = threading.Thread(target=move)
        mover.start()
        _wait_until_a_backend_waits_for_a_lock(results)
        Opportunity.objects.filter(pk=opportunity.pk).update(
            account=after, version=F("version") + 1
        )
    mover.join(timeout=30)

    assert [code for code, _ in results] == [200], results
    body = results[0][1]
    assert body["account"] == {"id": after.pk, "name": "After"}
    assert body["stage"]["id"] == stages[1].pk
    assert body["version"] == 3
