"""What the planner needs to know to pick the fast plans the metrics were measured with."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Count

from metrics.selectors import GROUPINGS
from opportunities.measures import visit_length
from opportunities.models import Opportunity, StageTransition
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


@pytest.mark.django_db
def test_visits_can_be_read_in_order_of_length_from_an_index(pipeline):
    """Time in stage sorts each stage's visit lengths for the percentiles. Read from
    `transition_stay_idx` they arrive sorted and sorting them costs one pass; that needs the
    index's expression to be the selector's, which the planner checks here: only an index on
    (stage, that expression) gives this order without a sort."""
    require_service("PostgreSQL", connection.vendor == "postgresql", "a PostgreSQL index")
    visits = (
        StageTransition.objects.filter(
            to_stage_id__in=[pipeline.discovery.pk, pipeline.demo.pk, pipeline.proposal.pk],
            left_at__isnull=False,
        )
        .annotate(length=visit_length())
        .order_by("to_stage_id", "length")
        .values_list("to_stage_id", "length")
    )
    lengths = list(visits)
    assert lengths == sorted(lengths) and len(lengths) > 5
    with connection.cursor() as cursor:
        for method in ("sort", "incremental_sort", "seqscan", "bitmapscan"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
    plan = json.dumps(json.loads(visits.explain(format="json")))
    assert '"Index Name": "transition_stay_idx"' in plan, plan
    assert '"Node Type": "Sort"' not in plan, plan
