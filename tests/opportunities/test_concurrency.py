"""Two simultaneous moves of one deal with the same expected version: one wins, one gets 409."""

import threading

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from epos.services import api_key_create
from opportunities.models import ChecklistCompletion, StageTransition
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
