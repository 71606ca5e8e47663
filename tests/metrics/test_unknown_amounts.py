"""An unknown amount stays unknown: stored as null, shown as "—", left out of sums and of the
average deal size, on every path that computes them (the summary, the grouped summaries, which
on PostgreSQL are one GROUPING SETS statement)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from metrics import selectors
from opportunities.models import Opportunity
from tests import factories
from tests.metrics.conftest import Walker, day

pytestmark = pytest.mark.django_db


@pytest.fixture
def priced_and_unpriced(team, alice, carol):
    process, stages = factories.make_process(("Discovery",))
    discovery, won = stages[0], stages[1]
    deals = {}
    for name, amount in (("Priced", Decimal("30000")), ("Unknown", None), ("Open", None)):
        deal = factories.OpportunityFactory(
            name=name, stage=discovery, owner=alice, team=team, amount=amount, created_at=day(0)
        )
        if name != "Open":
            deal = Walker(deal, carol).to(won, day(10)).opportunity
        deals[name] = deal
    return process, deals


def test_the_average_deal_size_leaves_unknown_amounts_out(priced_and_unpriced, carol):
    process, _ = priced_and_unpriced
    scope = selectors.metric_scope(user=carol, params={"process": process.pk})
    summary = selectors.summary(scope=scope)
    assert summary["won_count"] == 2
    assert summary["avg_won_amount"] == 30000  # not (30,000 + 0) / 2
    assert summary["won_amount_total"] == 30000
    assert summary["pipeline_amount"] == 0
    (by_owner,) = selectors.summary_by(scope=scope, group_by="owner")
    assert by_owner["avg_won_amount"] == 30000 and by_owner["won_count"] == 2
    overall, groups = selectors.summary_sets(scope=scope, group_bys=["owner", "team"])
    assert overall["avg_won_amount"] == 30000
    assert [row["avg_won_amount"] for row in groups["team"]] == [30000]


def test_a_deal_made_without_an_amount_stores_null_and_shows_a_dash(api, client, alice, process):
    response = api.as_user(alice).post(
        reverse("api:opportunity-list"), {"name": "No amount yet", "process": process.pk}
    )
    assert response.status_code == 201, response.content
    assert response.json()["amount"] is None
    deal = Opportunity.objects.get(name="No amount yet")
    assert deal.amount is None
    client.force_login(alice)
    page = client.get(reverse("opportunities:opportunity-detail", args=[deal.pk])).content.decode()
    assert "<dt>Amount</dt><dd>—</dd>" in page
    listing = client.get(reverse("opportunities:opportunity-list")).content.decode()
    assert '<td class="num">—</td>' in listing


def test_the_html_create_form_keeps_an_empty_amount_empty(client, alice, process):
    client.force_login(alice)
    response = client.post(
        reverse("opportunities:opportunity-create"),
        {"process": process.pk, "name": "Form deal", "currency": "USD", "use_case": "other"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Opportunity.objects.get(name="Form deal").amount is None


def test_summary_sets_without_a_grouping_is_the_summary(priced_and_unpriced, carol):
    process, _ = priced_and_unpriced
    scope = selectors.metric_scope(user=carol, params={"process": process.pk})
    overall, groups = selectors.summary_sets(scope=scope, group_bys=())
    assert groups == {}
    assert overall == selectors.summary(scope=scope)
