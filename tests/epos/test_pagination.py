"""Pages of a joined list: the same rows, in the same order, for the same queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from epos.lib.pagination import DeferredJoinPaginator
from opportunities.models import Opportunity
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(stages, alice, team):
    start = timezone.now() - timedelta(days=30)
    return [
        factories.OpportunityFactory(
            stage=stages[0],
            owner=alice,
            team=team,
            created_at=start + timedelta(hours=index),
            # A few amounts repeat: ordering by them needs the id to break ties.
            amount=Decimal(1000 * (index % 4)),
        )
        for index in range(12)
    ]


@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        ("", lambda deal: (-deal.created_at.timestamp(), -deal.pk)),
        ("amount,id", lambda deal: (deal.amount, deal.pk)),
        ("-amount,-id", lambda deal: (-deal.amount, -deal.pk)),
    ],
)
def test_every_page_holds_the_rows_of_its_slice_in_order(api, alice, deals, ordering, key):
    expected = [deal.pk for deal in sorted(deals, key=key)]
    seen = []
    for page in (1, 2, 3):
        url = reverse("api:opportunity-list") + f"?page_size=5&page={page}"
        response = api.as_user(alice).get(url + (f"&ordering={ordering}" if ordering else ""))
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == 12
        seen.append([row["id"] for row in body["results"]])
    assert seen == [expected[:5], expected[5:10], expected[10:]]


def test_a_deep_page_costs_the_queries_of_the_first(api, alice, deals):
    counts = []
    for page in (1, 3):
        with CaptureQueriesContext(connection) as captured:
            response = api.as_user(alice).get(
                reverse("api:opportunity-list") + f"?page_size=5&page={page}"
            )
        assert response.status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]
    # The page past the first picks its ids in a subquery of the one statement.
    (page_statement,) = [q["sql"] for q in captured.captured_queries if "OFFSET" in q["sql"]]
    assert page_statement.count("SELECT") == 2


def test_the_paginator_slices_plain_querysets_and_lists_as_django_does(deals):
    plain = Opportunity.objects.order_by("pk")  # no select_related: nothing to defer
    ids = list(plain.values_list("pk", flat=True))
    paginator = DeferredJoinPaginator(plain, 5, orphans=2)
    assert [[o.pk for o in paginator.page(n)] for n in paginator.page_range] == [
        ids[:5],
        ids[5:],
    ]
    joined = Opportunity.objects.select_related("account").order_by("-pk")
    paginator = DeferredJoinPaginator(joined, 5, orphans=2)
    assert [o.pk for o in paginator.page(2)] == ids[::-1][5:]
    assert list(DeferredJoinPaginator(list(range(7)), 5).page(2)) == [5, 6]
