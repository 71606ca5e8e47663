"""Webhook scenarios: 1,000 stage changes fanned out to 5 subscribers by two Celery worker
processes, and sustained moves through gunicorn with 5 active subscriptions against none."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench.config import OUT, REPO
from bench.context import BenchContext
from bench.registry import scenario
from bench.scenarios.load import _run_load
from bench.server import free_port
from epos.models import OutboxMessage
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks.services import webhook_subscribe
from opportunities.models import Opportunity
from opportunities.services import opportunity_move_to_stage

SUBSCRIBERS = 5
STAGE_CHANGES = 1_000
DEALS = 200  # each moved five times
FANOUT_TARGET_S = 60.0
MAX_LOSS = 0.10
TARGET_MARK = "/bench-hook/"
FANOUT_TIMEOUT_S = 300.0


class Receiver:
    """A local webhook receiver that counts arrivals and de-duplicates by `webhook-id`."""

    def __init__(self):
        self.lock = threading.Lock()
        self.arrivals = 0
        self.ids: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the http.server API
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.arrivals += 1
                    receiver.ids.add(self.headers.get("webhook-id", ""))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{TARGET_MARK}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _subscribe(user, receiver: Receiver) -> list[WebhookSubscription]:
    saved = settings.EPOS_WEBHOOK_ALLOW_PRIVATE
    settings.EPOS_WEBHOOK_ALLOW_PRIVATE = True
    try:
        return [
            webhook_subscribe(
                actor=user, target_url=f"{receiver.url}{n}", event="opportunity.stage_changed"
            )[0]
            for n in range(SUBSCRIBERS)
        ]
    finally:
        settings.EPOS_WEBHOOK_ALLOW_PRIVATE = saved


def remove_bench_subscriptions() -> int:
    """Subscriptions (and, by cascade, deliveries) the bench made; run before its outbox rows go."""
    removed, _ = WebhookSubscription.objects.filter(target_url__contains=TARGET_MARK).delete()
    return removed


def _start_workers(ctx: BenchContext) -> subprocess.Popen:
    """One Celery worker with two processes, on the bench's database and broker."""
    OUT.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **ctx.server_environment,
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "CELERY_BROKER_URL": ctx.broker_url,
        "EPOS_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    log = (OUT / "celery-webhooks.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter running celery
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "epos",
            "worker",
            "--concurrency=2",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    from epos.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Celery worker exited; see {OUT / 'celery-webhooks.log'}")
        replies = app.control.ping(timeout=1.0)
        if replies:
            return process
    process.terminate()
    raise RuntimeError("the Celery worker did not answer a ping within 60 s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _purge_queue(ctx: BenchContext) -> None:
    # Dispatches queued by earlier scenarios (which ran without a worker) would otherwise be
    # taken by this scenario's workers and counted against it; so would the outbox messages
    # they left waiting, which the first drain takes with this scenario's. Both are the bench's
    # own: its teardown deletes the messages.
    from epos.celery import app

    app.control.purge()
    OutboxMessage.objects.filter(dispatched_at__isnull=True).update(dispatched_at=timezone.now())


@scenario(
    "webhook_fanout",
    target=(
        f"{STAGE_CHANGES:,} stage changes × {SUBSCRIBERS} subscribers delivered in "
        f"≤ {FANOUT_TARGET_S:.0f} s by 2 worker processes, no duplicate webhook-id"
    ),
)
def webhook_fanout(ctx: BenchContext) -> dict:
    shuttles = ctx.reserve_shuttles(count=DEALS)
    if len(shuttles) < DEALS:
        raise RuntimeError(f"Only {len(shuttles)} deals to move; need {DEALS}.")
    deals = {deal.pk: deal for deal in Opportunity.objects.filter(pk__in=[s.id for s in shuttles])}
    stages = {stage.pk: stage for stage in ctx.stage_pair}
    _purge_queue(ctx)
    with Receiver() as receiver:
        subscriptions = _subscribe(ctx.admin, receiver)
        workers = _start_workers(ctx)
        try:
            started = time.monotonic()
            moves = 0
            for _round in range(STAGE_CHANGES // DEALS):
                for shuttle in shuttles:
                    deal = opportunity_move_to_stage(
                        opportunity=deals[shuttle.id],
                        to_stage=stages[ctx.other_stage(shuttle.stage_id)],
                        actor=None,
                        expected_version=shuttle.version,
                    )
                    deals[shuttle.id] = deal
                    shuttle.stage_id, shuttle.version = deal.stage_id, deal.version
                    moves += 1
            moved_in = time.monotonic() - started
            expected = moves * SUBSCRIBERS
            deadline = started + FANOUT_TIMEOUT_S
            while time.monotonic() < deadline:
                with receiver.lock:
                    if len(receiver.ids) >= expected:
                        break
                if workers.poll() is not None:
                    raise RuntimeError("the Celery worker exited during the fan-out")
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            # Let stragglers (duplicates, if any) arrive before counting them.
            time.sleep(1.0)
        finally:
            _stop(workers)
        connection.close()
        succeeded = WebhookDelivery.objects.filter(
            subscription__in=subscriptions, status=WebhookDelivery.Status.SUCCEEDED
        ).count()
        with receiver.lock:
            unique, arrivals = len(receiver.ids), receiver.arrivals
    duplicates = arrivals - unique
    met = unique == expected and succeeded == expected and duplicates == 0
    met = met and elapsed <= FANOUT_TARGET_S
    return {
        "p50_ms": None,
        "p95_ms": None,
        "queries": None,
        "n": unique,
        "met": met,
        "summary": (
            f"{unique:,}/{expected:,} delivered in {elapsed:.1f} s "
            f"(moves took {moved_in:.1f} s), {duplicates} duplicate webhook-ids, "
            f"{unique / elapsed:.0f} deliveries/s"
        ),
        "elapsed_s": round(elapsed, 2),
        "moves": moves,
        "moves_s": round(moved_in, 2),
        "deliveries_expected": expected,
        "deliveries_received_unique": unique,
        "arrivals": arrivals,
        "duplicates": duplicates,
        "deliveries_succeeded_in_db": succeeded,
    }


@scenario(
    "sustained_moves_with_webhooks",
    target=f"moves/s with {SUBSCRIBERS} active subscriptions ≥ {1 - MAX_LOSS:.0%} of none",
)
def sustained_moves_with_webhooks(ctx: BenchContext) -> dict:
    """The same load twice, without and with subscriptions. As in production, the web tier
    only queues the dispatch; fan-out and deliveries run on workers (on their own hosts there,
    so none runs here to take the load's cores)."""
    remove_bench_subscriptions()
    without = _run_load(ctx, ctx.duration)
    with Receiver() as receiver:
        _subscribe(ctx.admin, receiver)
        with_hooks = _run_load(ctx, ctx.duration)
    remove_bench_subscriptions()
    ratio = with_hooks["moves_per_s"] / without["moves_per_s"] if without["moves_per_s"] else 0
    return {
        "p50_ms": with_hooks["latency"]["p50_ms"],
        "p95_ms": with_hooks["latency"]["p95_ms"],
        "queries": None,
        "n": with_hooks["moves_ok"],
        "met": ratio >= 1 - MAX_LOSS and with_hooks["errors"] == 0,
        "summary": (
            f"{with_hooks['moves_per_s']:.0f} moves/s with {SUBSCRIBERS} subscriptions, "
            f"{without['moves_per_s']:.0f} without ({ratio:.0%}); "
            f"CPU {with_hooks['cpu_ms_per_move'].get('total', 0):.1f} vs "
            f"{without['cpu_ms_per_move'].get('total', 0):.1f} ms/move"
        ),
        "ratio": round(ratio, 3),
        "without": without,
        "with_subscriptions": with_hooks,
    }
