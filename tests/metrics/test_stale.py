"""Stale while revalidate on the dashboard: after a change the page answers at once with the
last figures, says so, queues their refresh for a worker and reloads once it is done."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from metrics import dashboard as dashboards
from metrics import selectors
from metrics.tasks import dashboard_refresh
from tests.metrics.conftest import day, win_g

pytestmark = pytest.mark.django_db

URL = reverse("metrics:dashboard")


def _params(pipeline):
    return {"process": pipeline.process.pk, "period": "all"}


def _won(response):
    return response.context["board"].summary["won_count"]


def test_after_a_move_the_page_shows_the_last_figures_and_queues_their_refresh(
    client, pipeline, carol, with_worker, django_capture_on_commit_callbacks
):
    client.force_login(carol)
    first = client.get(URL, _params(pipeline))
    assert first.status_code == 200 and "stale" not in first.context
    assert b'id="stale-figures"' not in first.content
    won_before = _won(first)

    win_g(pipeline, carol)
    with django_capture_on_commit_callbacks(execute=True):
        stale = client.get(URL, _params(pipeline))

    assert _won(stale) == won_before  # the last figures, at once
    assert b'id="stale-figures"' in stale.content
    assert b"before the latest changes" in stale.content
    token = stale.context["stale"]["token"]
    assert len(with_worker) == 1
    user_id, query, today, queued_token = with_worker[0]
    assert (user_id, queued_token) == (carol.pk, token)

    # While the refresh is pending the page polls and nothing happens.
    freshness = client.get(reverse("metrics:dashboard-freshness"), {"token": token})
    assert freshness.status_code == 204
    # A second view in the meantime does not queue a second refresh.
    with django_capture_on_commit_callbacks(execute=True):
        client.get(URL, _params(pipeline))
    assert len(with_worker) == 1

    # The worker runs it; the poll then reloads the page, which shows the new figures.
    assert dashboard_refresh.run(user_id, query, today, queued_token) is True
    done = client.get(reverse("metrics:dashboard-freshness"), {"token": token})
    assert done.status_code == 200 and done["HX-Refresh"] == "true"
    fresh = client.get(URL, _params(pipeline))
    assert _won(fresh) == won_before + 1
    assert "stale" not in fresh.context


def test_an_export_is_never_stale(client, pipeline, carol, with_worker):
    client.force_login(carol)
    client.get(URL, _params(pipeline))
    win_g(pipeline, carol)
    csv_text = client.get(URL, {**_params(pipeline), "export": "summary"}).content.decode()
    won_line = next(line for line in csv_text.splitlines() if line.startswith("Won"))
    scope = selectors.metric_scope(user=carol, params={"process": pipeline.process.pk})
    assert won_line.endswith(f",{selectors.summary(scope=scope)['won_count']}")
    assert with_worker == []


def test_without_a_worker_the_page_computes_the_new_figures(client, pipeline, carol, settings):
    settings.METRICS_CACHE_SECONDS = 300
    settings.CELERY_TASK_ALWAYS_EAGER = True  # tasks in-process: nothing would run them apart
    cache.clear()
    client.force_login(carol)
    won_before = _won(client.get(URL, _params(pipeline)))
    win_g(pipeline, carol)
    after = client.get(URL, _params(pipeline))
    assert _won(after) == won_before + 1 and "stale" not in after.context
    assert dashboards.serves_stale() is False


def test_a_broker_that_is_down_leaves_the_page_working(
    client, pipeline, carol, with_worker, monkeypatch, django_capture_on_commit_callbacks
):
    def refuse(*args):
        raise ConnectionError("broker down")

    monkeypatch.setattr(dashboard_refresh, "delay", refuse)
    client.force_login(carol)
    client.get(URL, _params(pipeline))
    win_g(pipeline, carol)
    with django_capture_on_commit_callbacks(execute=True):
        stale = client.get(URL, _params(pipeline))
    assert stale.status_code == 200 and b'id="stale-figures"' in stale.content
    # The claim is released, so the next view tries again.
    token = stale.context["stale"]["token"]
    poll = client.get(reverse("metrics:dashboard-freshness"), {"token": token})
    assert poll.status_code == 200


def test_freshness_is_for_dashboard_readers_only(client, alice, carol, nobody):
    url = reverse("metrics:dashboard-freshness")
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(nobody)
    assert client.get(url, {"token": "x"}).status_code == 403
    client.force_login(carol)
    assert client.get(url, {"token": "x"}).status_code == 200


def test_a_refresh_for_a_user_gone_does_nothing(pipeline, carol, with_worker):
    query = {"process": str(pipeline.process.pk), "period": "all"}
    assert (
        dashboards.refresh(user_id=999_999, query=query, today=day(0).date(), scope_key="k")
        is False
    )


def test_a_cache_of_the_web_process_alone_never_serves_stale_figures(with_worker, settings):
    shared = settings.CACHES
    assert dashboards.serves_stale() is True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert dashboards.serves_stale() is False  # the worker's refresh would land elsewhere
    settings.CACHES = shared
    settings.METRICS_SERVE_STALE = False
    assert dashboards.serves_stale() is False
    settings.METRICS_SERVE_STALE = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert dashboards.serves_stale() is False
