"""Independent read-only queries of one page run side by side, each on its own connection.

The dashboard computes a dozen sections whose statements do not depend on each other; an
admin's scope over the whole company makes several of them take 100-300 ms each. One
connection runs them one after another; `METRICS_QUERY_LANES` connections (2 by default) run
them at once, as BI tools run the cards of a dashboard, so the page takes about as long as its
slowest lane instead of the sum.

It applies only where it gives the same answer: on PostgreSQL, and outside a transaction (other
connections cannot see what an open transaction wrote, so inside one, in a test or an atomic
block, the jobs run in order on the caller's connection). The lanes are threads of one pool per
process; each keeps its connection as a request would (`DB_CONN_MAX_AGE`, health checks) and
closes it when it is obsolete.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

from django.conf import settings
from django.db import close_old_connections, connection, connections

T = TypeVar("T")

_pool: tuple[ThreadPoolExecutor, int] | None = None  # (the pool, its number of threads)
_pool_lock = threading.Lock()


def lanes() -> int:
    """How many connections may serve one page at once (1: no side-by-side queries)."""
    return settings.METRICS_QUERY_LANES


def side_by_side() -> bool:
    return lanes() > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block


def _executor() -> ThreadPoolExecutor:
    """The process's pool, sized by the setting when first used."""
    global _pool
    with _pool_lock:
        if _pool is None:
            size = lanes()
            _pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix="metrics-lane"), size
        return _pool[0]


def close_connections(timeout: float = 10) -> None:
    """Close the lanes' connections now (tests that drop their database; a clean shutdown).

    One job per lane, each held at a barrier until every lane has one, so each thread of the
    pool closes its own connection.
    """
    global _pool
    with _pool_lock:
        current, _pool = _pool, None
    if current is None:
        return
    pool, count = current
    barrier = threading.Barrier(count)

    def close() -> None:
        barrier.wait(timeout)
        connections.close_all()

    wait([pool.submit(close) for _ in range(count)], timeout=timeout)
    pool.shutdown(wait=False)


def _on_own_connection(job: Callable[[], T]) -> T:
    close_old_connections()  # as at the start of a request: drop a broken or expired one
    try:
        # The lanes are this page's parallelism. A lane's statement that also started
        # PostgreSQL's parallel workers would take cores from the other lanes, and the page
        # would wait for the lane it slowed down (measured: 568 -> 536 ms on 2 cores).
        with connection.cursor() as cursor:
            cursor.execute("SET max_parallel_workers_per_gather = 0")
        return job()
    finally:
        close_old_connections()


def run(jobs: dict[str, Callable[[], T]]) -> dict[str, T]:
    """{name: job()} for read-only jobs; side by side when `side_by_side()`, else in order.

    Give the slowest jobs first: the lanes take them in that order. An exception in a job is
    raised here, after every job has finished.
    """
    if len(jobs) < 2 or not side_by_side():
        return {name: job() for name, job in jobs.items()}
    futures = {name: _executor().submit(_on_own_connection, job) for name, job in jobs.items()}
    wait(futures.values())
    return {name: future.result() for name, future in futures.items()}
