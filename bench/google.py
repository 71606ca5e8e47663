"""Bench: a Google Calendar resync of 10,000 events ≤ 30 s (integrations.sync.google_calendar).

One SA's calendar of 10,000 meetings over the last 80 days, served by a fake Calendar API on
loopback (OAuth token endpoint and events.list with pages of 2,500, `nextPageToken`,
`nextSyncToken`, 410 for an expired token) and read by the real client libraries with a real
service-account key. Two in five meetings carry an `[EPOS-<id>]` tag of one of the SA's open
deals, two in five have an attendee at the domain of an account where the SA has exactly one
open deal, one in five is internal.

    python -m bench.run --only calendar_resync

Figures: the first full sync (every activity created), then the resync a 410 forces (every
event listed again, every activity unchanged, the ones Google no longer has removed), then an
incremental sync of 100 changes. Each runs `integrations.sync.services.sync_run`, the task's
body, in a transaction rolled back at the end (after `SET CONSTRAINTS ALL IMMEDIATE`, so the
deferred foreign-key checks are in the figures), which leaves the bench database as it was.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from bench.registry import scenario
from bench.server import free_port

EVENTS = 10_000
TARGET_S = 30.0
CHANGES = 100
CALENDAR_USER = "bench-calendar-sa"
DOMAIN = "bench-customer-{n}.example"


class FakeCalendar:
    """Google's token endpoint and events.list for one calendar, as far as the sync uses it."""

    def __init__(self, calendar: str, events: list[dict]):
        self.calendar = calendar
        self.events = {event["id"]: event for event in events}
        self.changed: dict[str, dict] = {}
        self.tokens: set[str] = set()
        self.requests = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802 - the http.server API
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self._send(
                    200, {"access_token": "bench", "expires_in": 3600, "token_type": "Bearer"}
                )

            def do_GET(self):  # noqa: N802
                fake.requests += 1
                url = urlsplit(self.path)
                match = re.fullmatch(r"/calendar/v3/calendars/([^/]+)/events", url.path)
                if not match or unquote(match.group(1)) != fake.calendar:
                    self._send(404, {"error": {"code": 404, "message": "Not Found"}})
                    return
                self._send(*fake.page({k: v[0] for k, v in parse_qs(url.query).items()}))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/"

    def page(self, args: dict) -> tuple[int, dict]:
        token = args.get("syncToken")
        if token and token not in self.tokens:
            message = "Sync token is no longer valid, a full sync is required."
            return 410, {"error": {"code": 410, "message": message}}
        rows = list(self.changed.values()) if token else list(self.events.values())
        size = int(args.get("maxResults", 250))
        start = int(args.get("pageToken", 0) or 0)
        body = {"kind": "calendar#events", "items": rows[start : start + size]}
        if start + size < len(rows):
            body["nextPageToken"] = str(start + size)
        else:
            new_token = f"bench-sync-{len(self.tokens)}"
            self.tokens.add(new_token)
            body["nextSyncToken"] = new_token
        return 200, body

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _service_account(endpoint: str) -> dict:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "client_email": "bench@epos-bench.iam.gserviceaccount.com",
        "private_key": pem,
        "token_uri": f"{endpoint}token",
    }


def _world(rng: random.Random):
    """The SA (a bench SA with the most open deals, given an email), its tag targets, and
    accounts where it has exactly one open deal (given a domain); inside the transaction."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from opportunities.models import Account, Opportunity

    open_deals = Opportunity.objects.filter(outcome=Opportunity.Outcome.OPEN)
    owner_id = open_deals.values("owner_id").annotate(n=Count("pk")).order_by("-n")[0]["owner_id"]
    user = get_user_model().objects.get(pk=owner_id)
    user.email = f"{CALENDAR_USER}@epos-bench.example"
    user.save(update_fields=["email"])
    mine = list(open_deals.filter(owner_id=owner_id).values_list("pk", flat=True))
    single = list(
        open_deals.filter(owner_id=owner_id, account__isnull=False)
        .values("account_id")
        .annotate(n=Count("pk"))
        .filter(n=1)
        .values_list("account_id", flat=True)[:200]
    )
    domains = []
    for n, account_id in enumerate(single):
        Account.objects.filter(pk=account_id).update(domain=DOMAIN.format(n=n))
        domains.append(DOMAIN.format(n=n))
    rng.shuffle(mine)
    return user, mine[:500], domains


def _events(user_email: str, deal_ids: list[int], domains: list[str], rng: random.Random):
    from django.utils import timezone

    now = timezone.now().replace(microsecond=0)
    events = []
    for n in range(EVENTS):
        start = now - timedelta(days=80) + timedelta(minutes=11 * n)
        attendees = [{"email": user_email, "self": True, "responseStatus": "accepted"}]
        title = f"Meeting {n}"
        share = n % 5
        if share < 2 and deal_ids:
            title += f" [EPOS-{rng.choice(deal_ids)}]"
        elif share < 4 and domains:
            attendees.append({"email": f"guest{n}@{rng.choice(domains)}"})
        else:
            attendees.append({"email": f"colleague{n}@epos-bench.example"})
        events.append(
            {
                "kind": "calendar#event",
                "id": f"bench{n:06d}",
                "status": "confirmed",
                "summary": title,
                "start": {"dateTime": start.isoformat()},
                "end": {"dateTime": (start + timedelta(minutes=30)).isoformat()},
                "attendees": attendees,
            }
        )
    return events


def _run(connection) -> tuple[float, object]:
    from django.db import connection as db

    from integrations.sync import services

    run, _ = services.sync_request(actor=None, connection=connection)
    started = time.perf_counter()
    run = services.sync_run(run_id=run.pk)
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return time.perf_counter() - started, run


@scenario("calendar_resync", target=f"≤ {TARGET_S:.0f} s for a full resync of {EVENTS:,} events")
def calendar_resync(ctx) -> dict:
    from django.db import transaction

    from integrations.sync import services
    from opportunities.models import Activity

    rng = random.Random(12)  # a reproducible dataset
    figures: dict[str, float] = {}
    with transaction.atomic():
        user, deal_ids, domains = _world(rng)
        events = _events(user.email, deal_ids, domains, rng)
        with FakeCalendar(user.email, events) as fake:
            connection = services.connection_create(
                actor=None,
                system="google",
                adapter="google_calendar",
                name="bench calendar",
                settings={"calendars": [user.email], "api_endpoint": fake.endpoint},
                credentials=_service_account(fake.endpoint),
            )
            figures["first_s"], first = _run(connection)
            activities = Activity.objects.filter(source=Activity.Source.GOOGLE_CALENDAR).count()
            # Google forgets the token (410); meanwhile 100 events were deleted.
            fake.tokens.clear()
            for event_id in list(fake.events)[:CHANGES]:
                del fake.events[event_id]
            connection.refresh_from_db()
            figures["resync_s"], resync = _run(connection)
            # An ordinary incremental run: 100 meetings moved by an hour.
            for event in list(fake.events.values())[:CHANGES]:
                for end in ("start", "end"):
                    moment = datetime.fromisoformat(event[end]["dateTime"]) + timedelta(hours=1)
                    event[end] = {"dateTime": moment.isoformat()}
                fake.changed[event["id"]] = event
            connection.refresh_from_db()
            figures["incremental_s"], incremental = _run(connection)
            requests = fake.requests
        transaction.set_rollback(True)
    met = (
        first.status == "succeeded"
        and resync.status == "succeeded"
        and max(figures["first_s"], figures["resync_s"]) <= TARGET_S
    )
    return {
        "n": 3,
        "p50_ms": round(figures["resync_s"] * 1000, 1),
        "p95_ms": round(max(figures.values()) * 1000, 1),
        "queries": None,
        "met": met,
        "events": EVENTS,
        "activities": activities,
        "first_sync_s": round(figures["first_s"], 2),
        "first_counts": first.counts,
        "resync_410_s": round(figures["resync_s"], 2),
        "resync_counts": resync.counts,
        "incremental_s": round(figures["incremental_s"], 2),
        "incremental_counts": incremental.counts,
        "api_requests": requests,
        "summary": (
            f"{EVENTS:,} events: first sync {figures['first_s']:.1f} s "
            f"({first.counts.get('created')} activities), 410 resync {figures['resync_s']:.1f} s "
            f"({resync.counts.get('unchanged')} unchanged, {resync.counts.get('deleted')} "
            f"removed), {CHANGES} changes {figures['incremental_s']:.2f} s"
        ),
    }
