"""The dashboard's sections side by side on several connections (metrics/lanes.py)."""

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from metrics import dashboard as dashboards
from metrics import lanes, selectors
from tests.conftest import require_service
from tests.metrics.conftest import day


def _build(user, pipeline, today):
    scope = selectors.metric_scope(
        user=user, params={"process": pipeline.process.pk, "closed_after": day(-60).isoformat()}
    )
    return dashboards.build(scope=scope, filters={}, today=today)


def _figures(board):
    """Every table's rows, less the ages of open visits (they grow with the clock)."""
    return {
        name: [{k: v for k, v in row.items() if "age" not in k} for row in table.rows]
        for name, table in board.tables.items()
    }


@pytest.mark.django_db(transaction=True)
def test_sections_run_on_other_connections_and_give_the_same_figures(pipeline, carol, settings):
    require_service("PostgreSQL", connection.vendor == "postgresql", "lanes are PostgreSQL only")
    today = day(120).date()
    settings.METRICS_QUERY_LANES = 1
    with CaptureQueriesContext(connection) as alone:
        one_by_one = _build(carol, pipeline, today)

    settings.METRICS_QUERY_LANES = 2
    assert lanes.side_by_side()
    threads = set()
    real_time_in_stage = selectors.time_in_stage

    def time_in_stage(**arguments):
        threads.add(threading.current_thread().name)
        return real_time_in_stage(**arguments)

    selectors.time_in_stage, saved = time_in_stage, selectors.time_in_stage
    try:
        with CaptureQueriesContext(connection) as caller:
            side_by_side = _build(carol, pipeline, today)
    finally:
        selectors.time_in_stage = saved

    assert _figures(side_by_side) == _figures(one_by_one)
    assert side_by_side.summary == one_by_one.summary
    assert side_by_side.summary["won_count"] == 4  # A, B, C and I (from d-60); H is not hers
    # The caller's connection only read the scope's process and its stages; the sections ran
    # on the lanes.
    assert [query["sql"].split(" FROM ")[1].split()[0] for query in caller.captured_queries] == [
        '"stages_process"',
        '"stages_stage"',
    ]
    assert len(alone.captured_queries) > 10
    assert threads and all(name.startswith("metrics-lane") for name in threads)


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_sections_run_in_order_on_the_callers_connection(
    pipeline, carol, settings
):
    require_service("PostgreSQL", connection.vendor == "postgresql", "lanes are PostgreSQL only")
    settings.METRICS_QUERY_LANES = 2
    with transaction.atomic():
        # Another connection would not see what this transaction wrote.
        assert not lanes.side_by_side()
        ran_on = []
        result = lanes.run(
            {
                "a": lambda: ran_on.append(threading.current_thread().name) or 1,
                "b": lambda: ran_on.append(threading.current_thread().name) or 2,
            }
        )
    assert result == {"a": 1, "b": 2}
    assert ran_on == [threading.current_thread().name] * 2


def test_one_lane_or_sqlite_runs_in_order(settings, db):
    settings.METRICS_QUERY_LANES = 1
    assert not lanes.side_by_side()
    order = []
    assert lanes.run({"x": lambda: order.append("x") or "X", "y": lambda: order.append("y")}) == {
        "x": "X",
        "y": None,
    }
    assert order == ["x", "y"]


@pytest.mark.django_db(transaction=True)
def test_an_error_in_one_lane_is_raised_to_the_caller(settings):
    require_service("PostgreSQL", connection.vendor == "postgresql", "lanes are PostgreSQL only")
    settings.METRICS_QUERY_LANES = 2
    finished = []

    def fails():
        raise ValueError("section failed")

    def slow():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.2)")
        finished.append(True)

    with pytest.raises(ValueError, match="section failed"):
        lanes.run({"fails": fails, "slow": slow})
    assert finished == [True]  # the other job was not abandoned half-way


@pytest.mark.django_db(transaction=True)
def test_lanes_do_not_also_start_parallel_workers(settings):
    # The lanes are the page's parallelism; the caller's connection keeps the server's setting.
    require_service("PostgreSQL", connection.vendor == "postgresql", "lanes are PostgreSQL only")
    settings.METRICS_QUERY_LANES = 2

    def workers():
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            return cursor.fetchone()[0], threading.get_ident()

    results = lanes.run({"first": workers, "second": workers})
    assert {value for value, _ in results.values()} == {"0"}
    assert threading.get_ident() not in {ident for _, ident in results.values()}
    assert workers()[0] != "0"
