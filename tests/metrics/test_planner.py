"""What the planner needs to know to pick the fast plans the metrics were measured with."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Count

from metrics.selectors import GROUPINGS
from opportunities.models import Opportunity
from tests.conftest import require_service
from tests.factories import AccountFactory, make_process


@pytest.mark.django_db
def test_the_month_a_deal_closed_has_statistics_so_months_are_not_guessed_per_timestamp():
    """Grouping by close month (the MTTC trend) is estimated at a few months, not one group per
    distinct close time: with that guess the planner sorted instead of hashing."""
    require_service("PostgreSQL", connection.vendor == "postgresql", "planner statistics")
    process, stages = make_process()
    account = AccountFactory()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    Opportunity.objects.bulk_create(
        Opportunity(
            name=f"Deal {index}",
            account=account,
            process=process,
            stage=stages[-2],
            outcome="won",
            amount=1000,
            created_at=start,
            stage_entered_at=start,
            # 300 distinct close times over three months.
            closed_at=start + timedelta(hours=7 * index),
        )
        for index in range(300)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE opportunities_opportunity")
    months = (
        Opportunity.objects.filter(process=process)
        .annotate(month=GROUPINGS["month"].expression())
        .values("month")
        .annotate(deals=Count("pk"))
        .order_by()
    )
    assert len(months) == 3
    plan = json.loads(months.explain(format="json"))[0]["Plan"]
    assert plan["Plan Rows"] <= 10, plan
