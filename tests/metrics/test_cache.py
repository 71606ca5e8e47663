import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from metrics import selectors
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


def test_an_edit_shows_as_soon_as_it_commits(
    pipeline, carol, metric_cache, django_capture_on_commit_callbacks
):
    assert summary_for(carol, pipeline)["pipeline_amount"] == 48_000
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        opportunity_update(opportunity=pipeline.deals["G"], actor=carol, amount=10_000)
    # Not before the commit: a rolled-back edit must not make anyone recompute.
    assert summary_for(carol, pipeline)["pipeline_amount"] == 48_000
    for callback in callbacks:
        callback()
    assert summary_for(carol, pipeline)["pipeline_amount"] == 50_000


@pytest.mark.parametrize(
    "write",
    ["delete the deal", "change its account's segment", "edit an ESAT score", "set a quota"],
)
def test_writes_the_newest_ids_do_not_show_bump_the_figures_on_commit(
    pipeline, carol, root, metric_cache, django_capture_on_commit_callbacks, write
):
    from datetime import date

    from django.utils import timezone

    from epos.lib.figures import figures_generation
    from metrics.services import quota_set
    from opportunities import services
    from opportunities.models import EsatResponse

    deal = pipeline.deals["G"]
    esat = EsatResponse.objects.create(
        opportunity=deal, stage=deal.stage, score=2, received_at=timezone.now()
    )
    before = figures_generation()
    with django_capture_on_commit_callbacks(execute=True):
        if write == "delete the deal":
            services.opportunity_delete(opportunity=deal, actor=carol)
        elif write == "change its account's segment":
            services.account_update(account=deal.account, actor=carol, segment="smb")
        elif write == "edit an ESAT score":
            services.opportunity_record_update(instance=esat, actor=carol, score=5)
        else:
            quota_set(
                actor=root,
                user=deal.owner,
                kind="won_amount",
                period_start=date(2025, 1, 1),
                period_end=date(2025, 3, 31),
                target=1000,
            )

    assert figures_generation() == before + 1


def test_bumps_from_many_threads_are_all_counted(metric_cache):
    import threading

    from epos.lib.figures import figures_changed, figures_generation

    threads = [
        threading.Thread(target=lambda: [figures_changed() for _ in range(50)]) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert figures_generation() == 400


def test_many_requests_missing_at_once_compute_the_figure_once(metric_cache, settings):
    import threading
    import time

    from metrics.cache import cached

    computed = []

    @cached("stampede-test")
    def slow_figure(*, scope):
        computed.append(1)
        time.sleep(0.3)
        return {"value": 42}

    class Scope:
        key = "stampede"
        allow_stale = False

        def __init__(self):
            self.memo = {"generation": "g1"}

    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(slow_figure(scope=Scope())))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(computed) == 1
    assert answers == [{"value": 42}] * 8


def test_while_one_request_recomputes_the_others_serve_the_last_figures(metric_cache):
    from django.core.cache import cache as django_cache

    from metrics.cache import cached

    calls = []

    @cached("stale-test")
    def figure(*, scope):
        calls.append(1)
        return {"value": len(calls)}

    class Scope:
        key = "stale"
        allow_stale = False

        def __init__(self, generation):
            self.memo = {"generation": generation}

    assert figure(scope=Scope("g1")) == {"value": 1}
    # Another request holds the computation of the new generation.
    [key] = [k for k in django_cache._cache if "stale-test" in k and "computing" not in k]
    plain = key.split(":", 2)[-1]
    django_cache.add(f"{plain}:computing", 1, 30)

    scope = Scope("g2")
    assert figure(scope=scope) == {"value": 1}
    assert scope.memo["stale"] is True
    assert len(calls) == 1


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
