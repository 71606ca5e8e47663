import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from metrics import selectors
from metrics.cache import cache_bump
from opportunities.services import opportunity_update
from tests.metrics.conftest import PERIOD, win_g

pytestmark = pytest.mark.django_db


@pytest.fixture
def metric_cache(settings):
    settings.METRICS_CACHE_SECONDS = 300
    cache.clear()
    yield
    cache.clear()


def summary_for(user, pipeline, **params):
    scope = selectors.metric_scope(
        user=user, params={"process": pipeline.process.pk, **PERIOD, **params}
    )
    return selectors.summary(scope=scope)


def test_a_repeated_summary_costs_only_the_generation_lookup(
    pipeline, carol, metric_cache, django_assert_num_queries
):
    first = summary_for(carol, pipeline)
    scope = selectors.metric_scope(user=carol, params={"process": pipeline.process.pk, **PERIOD})
    with django_assert_num_queries(1):
        assert selectors.summary(scope=scope) == first


def test_a_move_shows_at_once(pipeline, carol, metric_cache):
    assert summary_for(carol, pipeline)["won_count"] == 3
    win_g(pipeline, carol)
    assert summary_for(carol, pipeline)["won_count"] == 4


def test_an_edit_shows_once_the_cache_is_bumped(pipeline, carol, metric_cache):
    assert summary_for(carol, pipeline)["pipeline_amount"] == 48_000
    opportunity_update(opportunity=pipeline.deals["G"], actor=carol, amount=10_000)
    cache_bump()
    assert summary_for(carol, pipeline)["pipeline_amount"] == 50_000


def test_users_with_different_visibility_do_not_share_results(
    pipeline, carol, dave, root, metric_cache
):
    assert summary_for(carol, pipeline)["won_count"] == 3
    assert summary_for(dave, pipeline)["won_count"] == 1
    assert summary_for(root, pipeline)["won_count"] == 4


def test_different_filters_do_not_share_results(pipeline, carol, metric_cache):
    assert summary_for(carol, pipeline)["won_count"] == 3
    assert summary_for(carol, pipeline, segment="enterprise")["won_count"] == 0


def test_warm_dashboard_keeps_a_constant_and_smaller_query_count(
    client, pipeline, carol, metric_cache, django_assert_num_queries
):
    # The cold count plus the generation lookup, then only what is not cached: session, user,
    # roles, teams, process and team choices, process filter, generation, stages, pipeline
    # history, quotas.
    cold = 22 if connection.vendor == "postgresql" else 37
    client.force_login(carol)
    params = {"process": pipeline.process.pk, "period": "all"}
    url = reverse("metrics:dashboard")
    with django_assert_num_queries(cold):
        first = client.get(url, params).context["board"].summary
    with django_assert_num_queries(11):
        second = client.get(url, params).context["board"].summary
    assert first == second
