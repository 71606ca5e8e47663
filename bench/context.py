"""What scenarios share in one run: users and API keys, the deals they may move, the gunicorn
server, and the clean-up that leaves the dataset as generated for the next run."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test import Client

from bench import generate
from bench.config import DEFAULT_BROKER_URL
from bench.server import GunicornServer
from epos.models import ApiKey, OutboxMessage
from epos.services import api_key_create
from opportunities.models import ChecklistCompletion, Opportunity, StageTransition
from opportunities.services import transitions_relink
from stages.models import StageItem

API_KEY_NAME = "bench"
SNAPSHOT_FIELDS = (
    "stage_id",
    "stage_entered_at",
    "version",
    "engaged_at",
    "outcome",
    "closed_at",
    "loss_reason",
    "updated_at",
)


@dataclass
class Shuttle:
    """An open deal the move scenarios send back and forth between two open stages."""

    id: int
    owner_id: int
    stage_id: int
    version: int


@dataclass
class BenchContext:
    duration: float
    clients: int
    workers: int
    broker_url: str
    server_environment: dict[str, str]
    process: object = None
    stage_pair: tuple = ()
    _keys: dict[int, str] = field(default_factory=dict)
    _reserved: set[int] = field(default_factory=set)
    _snapshots: dict[int, dict] = field(default_factory=dict)
    _server: GunicornServer | None = None
    # Anything scenarios hand to each other (e.g. the load's deals, reused by a second load).
    shared: dict = field(default_factory=dict)
    load_ran: bool = False

    def __post_init__(self):
        self.process = generate.dataset_process()
        self.stage_pair = generate.movable_stage_pair(self.process)
        self.last_transition_id = _max_id(StageTransition)
        self.last_outbox_id = _max_id(OutboxMessage)
        ApiKey.objects.filter(name=API_KEY_NAME).delete()

    # --- people -------------------------------------------------------------------------------

    @cached_property
    def admin(self):
        return get_user_model().objects.get(username=generate.ADMIN_USERNAME)

    def sas(self) -> list:
        return list(
            get_user_model()
            .objects.filter(username__startswith=f"{generate.USER_PREFIX}sa")
            .order_by("username")
        )

    def api_key(self, user) -> str:
        if user.pk not in self._keys:
            _, raw = api_key_create(user=user, name=API_KEY_NAME)
            self._keys[user.pk] = raw
        return self._keys[user.pk]

    def client(self, user) -> Client:
        """An in-process client that authenticates like an API consumer does."""
        return Client(
            SERVER_NAME="127.0.0.1", headers={"Authorization": f"Token {self.api_key(user)}"}
        )

    # --- deals to move ------------------------------------------------------------------------

    def reserve_shuttles(self, *, count: int, owner_id: int | None = None) -> list[Shuttle]:
        """Open deals in either stage of the pair whose first stage's gates are met, never handed
        out twice in one run, and remembered so teardown puts them back."""
        first, second = self.stage_pair
        unmet = StageItem.objects.filter(stage=first, required=True).exclude(
            Exists(
                ChecklistCompletion.objects.filter(
                    opportunity_id=OuterRef(OuterRef("pk")), item_id=OuterRef("pk"), done=True
                )
            )
        )
        candidates = (
            Opportunity.objects.filter(outcome="open", stage__in=self.stage_pair)
            .exclude(pk__in=self._reserved)
            .filter(~Exists(unmet))
            .order_by("pk")
        )
        if owner_id is not None:
            candidates = candidates.filter(owner_id=owner_id)
        rows = list(candidates.values("pk", "owner_id", *SNAPSHOT_FIELDS)[:count])
        for row in rows:
            self._reserved.add(row["pk"])
            self._snapshots[row["pk"]] = {name: row[name] for name in SNAPSHOT_FIELDS}
        return [
            Shuttle(
                id=row["pk"],
                owner_id=row["owner_id"],
                stage_id=row["stage_id"],
                version=row["version"],
            )
            for row in rows
        ]

    def other_stage(self, stage_id: int) -> int:
        first, second = self.stage_pair
        return second.pk if stage_id == first.pk else first.pk

    # --- the server ---------------------------------------------------------------------------

    def ensure_static(self) -> None:
        """Collect static files once per run, as a deploy does: with DEBUG off, any HTML page
        needs the manifest. In-process HTML scenarios call this before their first request."""
        if not self.shared.get("static_collected"):
            call_command("collectstatic", interactive=False, verbosity=0)
            self.shared["static_collected"] = True

    def server(self) -> GunicornServer:
        if self._server is None:
            self.ensure_static()
            server = GunicornServer(workers=self.workers, environment=self.server_environment)
            try:
                server.start()
            except BaseException:
                server.stop()
                raise
            self._server = server
        return self._server

    @property
    def server_running(self) -> bool:
        return self._server is not None

    # --- clean-up -----------------------------------------------------------------------------

    def teardown(self) -> list[str]:
        """Stop the server and undo every write of the run; returns what was done."""
        done = []
        if self._server is not None:
            self._server.stop()
            self._server = None
            done.append("gunicorn stopped")
        done.append(self._restore())
        # The restore leaves dead rows behind; vacuum now so the next run starts from the same
        # visibility map and statistics (index-only counts depend on it).
        generate.vacuum_analyze()
        ApiKey.objects.filter(name=API_KEY_NAME).delete()
        done.append(_purge_broker(self.broker_url))
        return done

    def _restore(self) -> str:
        # Moves append transitions and outbox rows; the bench removes its own (ids past the
        # marks taken at start) and puts the moved deals back, so the next run measures the
        # same dataset and skips regeneration. Webhook deliveries point at outbox rows: first.
        from bench.webhooks import remove_bench_subscriptions

        remove_bench_subscriptions()
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {StageTransition._meta.db_table} WHERE id > %s",  # noqa: S608
                [self.last_transition_id],
            )
            transitions = cursor.rowcount
            cursor.execute(
                f"DELETE FROM {OutboxMessage._meta.db_table} WHERE id > %s",  # noqa: S608
                [self.last_outbox_id],
            )
            outbox = cursor.rowcount
        deals = [Opportunity(pk=pk, **values) for pk, values in self._snapshots.items()]
        Opportunity.objects.bulk_update(deals, list(SNAPSHOT_FIELDS), batch_size=1000)
        # The moves ended the visits their deals were in; those visits last again.
        transitions_relink(opportunity_ids=list(self._snapshots))
        return (
            f"restored {len(deals)} moved deals, removed {transitions} transitions and "
            f"{outbox} outbox messages written by the run"
        )


def _max_id(model) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _purge_broker(url: str) -> str:
    """Drop the dispatches the run queued: the whole Redis database when it is the bench's
    own (the default), else only the default Celery queue."""
    if not url.startswith(("redis://", "rediss://")):
        return "no Redis broker to purge"
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        queued = client.llen("celery")
        if url == DEFAULT_BROKER_URL:
            client.flushdb()
        else:
            client.delete("celery")
    finally:
        client.close()
    return f"purged the broker ({queued} queued outbox dispatches)"
