"""A fast, consistent dataset for the bench: users, teams, accounts through the model layer,
opportunities, stage transitions and checklist completions through COPY FROM STDIN.

Consistency rules (the smoke test checks them):
- each opportunity's transitions walk its process's stages in time order, starting with an
  entry into the first open stage (from_stage null) at created_at, each transition leaving the
  stage the previous one entered; a quarter of the deals skip each optional stage;
- the opportunity's stage, stage_entered_at, outcome, closed_at and version follow its last
  transition, engaged_at its first entry into a stage that starts the MTTC clock;
- required items are done for every stage a deal ever left moving forward (the gates held, no
  overrides), and for the current stage of about half the open deals ("ready to advance").

Full scale is 100,000 opportunities and exactly 600,000 transitions. With at most 6 open stages
plus Won, a straight walk averages fewer than 6 transitions, so the remainder is made of rework
loops (back one stage, then forward again), which real pipelines have too.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command, get_commands
from django.db import connection, transaction
from django.utils import timezone
from psycopg2 import sql

from epos.lib.roles import ADMIN, MANAGER, SA, ensure_role_groups
from epos.models import ApiKey, OutboxMessage
from opportunities.models import (
    Account,
    Activity,
    ChecklistCompletion,
    Contact,
    EsatResponse,
    Opportunity,
    ProductGap,
    Qualification,
    StageTransition,
    Team,
)
from opportunities.services import visit_times
from stages import rules
from stages.models import Process, Stage, StageItem

FULL_OPPORTUNITIES = 100_000
TRANSITIONS_PER_OPPORTUNITY = 6
FULL_ACCOUNTS = 2_000
TEAMS = (
    "Observability EMEA",
    "Observability NA",
    "Security EMEA",
    "Security NA",
    "Search APAC",
    "Strategic Accounts",
)
SAS_PER_TEAM = 5
ACCOUNT_EXECUTIVES = 12
USER_PREFIX = "bench-"
ADMIN_USERNAME = f"{USER_PREFIX}admin"
SEED = 20240601

BENCH_PROCESS_SLUG = "epos-bench"
# Used only when `manage.py load_processes` is not available: the EPOS pre-sales template's
# stages with two required items each, so moves run the real gate check.
BENCH_OPEN_STAGES = (
    ("Preparation", 10, 7),
    ("Discovery", 20, 14),
    ("Demo (D2W)", 35, 14),
    ("Proof of concept", 55, 30),
    ("Technical Q&A", 70, 14),
    ("Sizing", 85, 10),
)

# Share of open deals per open stage (a funnel) and of lost deals per stage they were lost from.
OPEN_STAGE_WEIGHTS = (25, 22, 18, 15, 12, 8)
LOST_AFTER_WEIGHTS = (10, 20, 20, 20, 15, 15)
WON_SHARE, LOST_SHARE = 0.30, 0.30
READY_SHARE = 0.5
SKIP_OPTIONAL = 0.25
LOSS_REASONS = (
    "Price",
    "Lost to competitor",
    "No budget",
    "Missing feature",
    "No decision",
    "Timing",
)
USE_CASES = (("observability", 40), ("security", 30), ("search", 20), ("other", 10))
SOURCES = ("inbound", "outbound", "target_abm", "referral", "partner")
PRODUCTS = ("Elastic Observability", "Elastic Security", "Elasticsearch", "Elastic Cloud")
INDUSTRIES = (
    "software",
    "finance",
    "retail",
    "telecom",
    "public sector",
    "manufacturing",
    "healthcare",
    "media",
)
SEGMENTS = ("smb", "mid_market", "enterprise")
COUNTRIES = (
    ("Germany", "Berlin"),
    ("France", "Paris"),
    ("United States", "Austin"),
    ("United Kingdom", "London"),
    ("Japan", "Tokyo"),
    ("Brazil", "São Paulo"),
)
NAME_HEADS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Cyberdyne",
    "Wonka",
    "Aperture",
    "Massive",
    "Oscorp",
    "Gringotts",
    "Nakatomi",
    "Pied Piper",
    "Monarch",
    "Duff",
)
NAME_TAILS = (
    "Systems",
    "Logistics",
    "Bank",
    "Retail",
    "Telecom",
    "Health",
    "Media",
    "Energy",
    "Foods",
    "Motors",
)


@dataclass(frozen=True)
class Targets:
    opportunities: int
    transitions: int
    accounts: int

    @classmethod
    def for_scale(cls, scale: float) -> Targets:
        if scale <= 0:
            raise ValueError("scale must be positive")
        opportunities = max(1, round(FULL_OPPORTUNITIES * scale))
        return cls(
            opportunities=opportunities,
            transitions=opportunities * TRANSITIONS_PER_OPPORTUNITY,
            accounts=max(20, round(FULL_ACCOUNTS * scale)),
        )


@dataclass
class Report:
    targets: Targets
    process: Process
    opportunities: int = 0
    transitions: int = 0
    completions: int = 0
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)


# --- process -----------------------------------------------------------------------------------


def bench_process() -> Process:
    """The EPOS template loaded by `load_processes` when that command exists, else our own."""
    if "load_processes" in get_commands():
        call_command("load_processes", verbosity=0, stdout=io.StringIO())
        template = (
            Process.objects.filter(status=Process.Status.ACTIVE, name__istartswith="EPOS pre-sales")
            .order_by("-version")
            .first()
        )
        if template is not None and _usable(template):
            return template
    existing = Process.objects.filter(slug=BENCH_PROCESS_SLUG).order_by("-version").first()
    if existing is not None:
        return existing
    return _create_bench_process()


def dataset_process() -> Process:
    """The process the generated deals run on (the template may have appeared since)."""
    process_id = Opportunity.objects.values_list("process_id", flat=True).first()
    if process_id is None:
        return bench_process()
    return Process.objects.get(pk=process_id)


def _usable(process: Process) -> bool:
    kinds = list(process.stages.values_list("kind", flat=True))
    return (
        kinds.count(Stage.Kind.OPEN) >= 3 and Stage.Kind.WON in kinds and Stage.Kind.LOST in kinds
    )


@transaction.atomic
def _create_bench_process() -> Process:
    process = Process(
        name="EPOS pre-sales (bench)",
        slug=BENCH_PROCESS_SLUG,
        status=Process.Status.ACTIVE,
        description="Created by bench.generate: the EPOS pre-sales stages, two gates each.",
    )
    process.full_clean()
    process.save()
    stages = [
        Stage(
            process=process,
            position=position,
            name=name,
            slug=_slug(name),
            probability=probability,
            target_days=target_days,
            starts_clock=position == 1,
        )
        for position, (name, probability, target_days) in enumerate(BENCH_OPEN_STAGES, start=1)
    ]
    after = len(stages)
    stages.append(
        Stage(
            process=process,
            position=after + 1,
            name="Won",
            slug="won",
            kind=Stage.Kind.WON,
            probability=100,
        )
    )
    stages.append(
        Stage(
            process=process,
            position=after + 2,
            name="Lost",
            slug="lost",
            kind=Stage.Kind.LOST,
            probability=0,
        )
    )
    for stage in stages:
        stage.full_clean()
        stage.save()
        if stage.kind == Stage.Kind.OPEN:
            for position, (kind, title) in enumerate(
                (
                    (StageItem.Kind.DELIVERABLE, f"{stage.name}: notes shared with the team"),
                    (StageItem.Kind.EXIT_CRITERION, f"{stage.name}: next step agreed"),
                )
            ):
                item = StageItem(
                    stage=stage, position=position, kind=kind, title=title, required=True
                )
                item.full_clean()
                item.save()
    return process


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")


def open_stages(process: Process) -> list[Stage]:
    return list(process.stages.filter(kind=Stage.Kind.OPEN).order_by("position"))


def movable_stage_pair(process: Process) -> tuple[Stage, Stage]:
    """Two consecutive open stages the move scenarios shuttle deals between.

    The second and third open stages when there are enough (past the entry stage, where most
    deals sit in real pipelines), else the first two.
    """
    stages = open_stages(process)
    first = 1 if len(stages) >= 3 else 0
    return stages[first], stages[first + 1]


# --- presence and reset ------------------------------------------------------------------------


def dataset_matches(targets: Targets) -> bool:
    """Whether the database already holds a generated dataset of this size."""
    return (
        get_user_model().objects.filter(username=ADMIN_USERNAME).exists()
        and Opportunity.objects.count() == targets.opportunities
        and StageTransition.objects.count() == targets.transitions
        and Account.objects.count() == targets.accounts
    )


# Everything the generator writes or the scenarios leave behind; CASCADE also empties rows of
# later apps that point at these (block usages, pilots' members...), which a bench DB may lose.
_RESET_MODELS = (
    ChecklistCompletion,
    StageTransition,
    Activity,
    Qualification,
    ProductGap,
    EsatResponse,
    Opportunity,
    Contact,
    Account,
    OutboxMessage,
    ApiKey,
)


def reset() -> None:
    """Empty the bench data. Only ever called on the dedicated bench database (bench.run)."""
    tables = [model._meta.db_table for model in _RESET_MODELS]
    tables += [
        Team.members.through._meta.db_table,
        Team.managers.through._meta.db_table,
        Team._meta.db_table,
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")  # noqa: S608 - our table names
        get_user_model().objects.filter(username__startswith=USER_PREFIX).delete()


def vacuum_analyze() -> None:
    """Fresh statistics and visibility maps, as autovacuum would leave them after a while."""
    models = (Opportunity, StageTransition, ChecklistCompletion, Account, OutboxMessage)
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


# --- generation ----------------------------------------------------------------------------------


@dataclass
class _People:
    sas: list[int]
    team_of: dict[int, int]
    executives: list[int]


def generate(*, scale: float = 1.0, seed: int = SEED, log: Callable[[str], None] = print) -> Report:
    """Write a dataset for `scale` into an empty bench database, in one transaction."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The bench generator writes with COPY and needs PostgreSQL.")
    targets = Targets.for_scale(scale)
    rng = random.Random(seed)
    started = time.perf_counter()
    process = bench_process()
    report = Report(targets=targets, process=process)

    def step(name: str, since: float) -> float:
        now = time.perf_counter()
        report.steps[name] = round(now - since, 2)
        log(f"  {name}: {now - since:.1f}s")
        return now

    with transaction.atomic():
        mark = time.perf_counter()
        people = _create_people(rng)
        accounts = _create_accounts(rng, targets.accounts)
        mark = step("users, teams, accounts", mark)
        paths = _plan_paths(rng, process, targets)
        mark = step("plan", mark)
        counts = _copy_opportunities(rng, process, paths, people, accounts, step)
        mark = time.perf_counter()
    step("commit", mark)
    report.opportunities, report.transitions, report.completions = counts
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def _create_people(rng: random.Random) -> _People:
    User = get_user_model()
    groups = ensure_role_groups()
    unusable = make_password(None)
    teams = Team.objects.bulk_create([Team(name=name, region=name.split()[-1]) for name in TEAMS])
    users = [
        User(
            username=ADMIN_USERNAME,
            first_name="Bench",
            last_name="Admin",
            email="admin@bench.example",
            password=unusable,
        )
    ]
    for number in range(1, len(teams) * SAS_PER_TEAM + 1):
        users.append(
            User(
                username=f"{USER_PREFIX}sa{number:02d}",
                first_name="SA",
                last_name=f"{number:02d}",
                email=f"sa{number:02d}@bench.example",
                password=unusable,
            )
        )
    for number in range(1, len(teams) + 1):
        users.append(
            User(
                username=f"{USER_PREFIX}manager{number}",
                first_name="Manager",
                last_name=str(number),
                password=unusable,
            )
        )
    for number in range(1, ACCOUNT_EXECUTIVES + 1):
        users.append(
            User(
                username=f"{USER_PREFIX}ae{number:02d}",
                first_name="AE",
                last_name=f"{number:02d}",
                password=unusable,
            )
        )
    users = User.objects.bulk_create(users)
    admin, rest = users[0], users[1:]
    sas, rest = rest[: len(teams) * SAS_PER_TEAM], rest[len(teams) * SAS_PER_TEAM :]
    managers, executives = rest[: len(teams)], rest[len(teams) :]

    Membership = User.groups.through
    roles = [Membership(user_id=admin.pk, group_id=groups[ADMIN].pk)]
    roles += [Membership(user_id=user.pk, group_id=groups[SA].pk) for user in sas]
    roles += [Membership(user_id=user.pk, group_id=groups[MANAGER].pk) for user in managers]
    Membership.objects.bulk_create(roles)

    team_of = {sa.pk: teams[index // SAS_PER_TEAM].pk for index, sa in enumerate(sas)}
    Team.members.through.objects.bulk_create(
        [
            Team.members.through(team_id=team_id, user_id=user_id)
            for user_id, team_id in team_of.items()
        ]
    )
    Team.managers.through.objects.bulk_create(
        [
            Team.managers.through(team_id=team.pk, user_id=manager.pk)
            for team, manager in zip(teams, managers, strict=True)
        ]
    )
    return _People(
        sas=[sa.pk for sa in sas], team_of=team_of, executives=[user.pk for user in executives]
    )


def _create_accounts(rng: random.Random, count: int) -> list[int]:
    accounts = []
    for number in range(1, count + 1):
        country, city = rng.choice(COUNTRIES)
        accounts.append(
            Account(
                name=f"{rng.choice(NAME_HEADS)} {rng.choice(NAME_TAILS)} {number:04d}",
                industry=rng.choice(INDUSTRIES),
                segment=rng.choice(SEGMENTS),
                ownership=rng.choice(("private", "public", "state_owned")),
                employees=rng.randint(10, 200_000),
                country=country,
                city=city,
                has_own_infrastructure=rng.random() < 0.6,
            )
        )
    return [account.pk for account in Account.objects.bulk_create(accounts, batch_size=1000)]


def _plan_paths(rng: random.Random, process: Process, targets: Targets) -> list[list[Stage]]:
    """Each opportunity's walk through the stages, summing to exactly targets.transitions."""
    stages = open_stages(process)
    won = process.stages.get(kind=Stage.Kind.WON)
    lost = process.stages.get(kind=Stage.Kind.LOST)
    open_weights = _fit_weights(OPEN_STAGE_WEIGHTS, len(stages))
    lost_weights = _fit_weights(LOST_AFTER_WEIGHTS, len(stages))
    routes: list[list[Stage]] = []
    paths: list[list[Stage]] = []
    for _ in range(targets.opportunities):
        # Optional ("elastic") stages are skipped by some deals, never the first stage.
        route = [stages[0]] + [
            stage for stage in stages[1:] if not stage.is_optional or rng.random() >= SKIP_OPTIONAL
        ]
        routes.append(route)
        draw = rng.random()
        if draw < WON_SHARE:
            paths.append([*route, won])
            continue
        weights = lost_weights if draw < WON_SHARE + LOST_SHARE else open_weights
        reached = min(rng.choices(range(1, len(stages) + 1), weights)[0], len(route))
        paths.append([*route[:reached], lost] if draw < WON_SHARE + LOST_SHARE else route[:reached])

    missing = targets.transitions - sum(len(path) for path in paths)
    while missing < 0:
        # Tiny scales can overshoot: shorten an open deal, else a lost one (it is then lost
        # from an earlier stage).
        shortenable = [p for p in paths if len(p) > 1 and p[-1].kind == Stage.Kind.OPEN] or [
            p for p in paths if len(p) > 2 and p[-1].kind == Stage.Kind.LOST
        ]
        if not shortenable:
            raise RuntimeError("Cannot fit the transition target at this scale")
        path = rng.choice(shortenable)
        del path[-1 if path[-1].kind == Stage.Kind.OPEN else -2]
        missing += 1
    if missing % 2:
        extendable = [
            (path, route)
            for path, route in zip(paths, routes, strict=True)
            if path[-1].kind == Stage.Kind.OPEN and len(path) < len(route)
        ]
        if extendable:
            path, route = rng.choice(extendable)
            path.append(route[len(path)])
            missing -= 1
        else:
            path = rng.choice([p for p in paths if p[-1].kind == Stage.Kind.OPEN and len(p) > 1])
            del path[-1]
            missing += 1
    loopable = [p for p in paths if len(p) > 1 and p[1].kind == Stage.Kind.OPEN]
    if missing and not loopable:
        raise RuntimeError("Cannot fit the transition target at this scale")
    for _ in range(missing // 2):
        _add_rework_loop(rng, rng.choice(loopable))
    return paths


def _fit_weights(weights: tuple[int, ...], depth: int) -> list[int]:
    if depth <= len(weights):
        return list(weights[:depth])
    return list(weights) + [weights[-1]] * (depth - len(weights))


def _add_rework_loop(rng: random.Random, path: list[Stage]) -> None:
    """Return to the stage the deal came from, then come back (two more transitions)."""
    spots = [
        position
        for position in range(1, len(path))
        if path[position].kind == Stage.Kind.OPEN and path[position - 1].kind == Stage.Kind.OPEN
    ]
    position = rng.choice(spots)
    path[position + 1 : position + 1] = [path[position - 1], path[position]]


OPPORTUNITY_COLUMNS = (
    "id", "name", "account_id", "process_id", "stage_id", "owner_id", "account_executive_id",
    "team_id", "amount", "currency", "product", "use_case", "source", "approach",
    "expected_close_date", "created_at", "engaged_at", "stage_entered_at", "closed_at", "outcome",
    "loss_reason", "version", "updated_at",
)  # fmt: skip
TRANSITION_COLUMNS = (
    "id", "opportunity_id", "from_stage_id", "to_stage_id", "moved_at", "moved_by_id", "note",
    "override_reason", "unmet_items", "left_at", "passed_at",
)  # fmt: skip
COMPLETION_COLUMNS = (
    "opportunity_id", "item_id", "done", "done_at", "done_by_id", "evidence_url", "note",
)  # fmt: skip
NULL = r"\N"


def _copy_opportunities(
    rng: random.Random,
    process: Process,
    paths: list[list[Stage]],
    people: _People,
    accounts: list[int],
    step: Callable[[str, float], float],
) -> tuple[int, int, int]:
    """Write COPY text for the three tables row by row (no intermediate tuples: at full scale
    this loop is most of the Python time), then load them."""
    stages = list(process.stages.all())
    process_rules = rules.ProcessRules.of(stages)
    starts_clock = {stage.key: process_rules.clock_applies(stage) for stage in process_rules.stages}
    required = {
        stage.pk: list(
            StageItem.objects.filter(stage=stage, required=True).values_list("pk", flat=True)
        )
        for stage in stages
        if stage.kind == Stage.Kind.OPEN
    }
    now = timezone.now()
    use_cases, use_case_weights = zip(*USE_CASES, strict=True)
    transition_count = sum(len(path) for path in paths)
    opportunities, transitions, completions = io.StringIO(), io.StringIO(), io.StringIO()
    completion_count = 0

    mark = time.perf_counter()
    with connection.cursor() as cursor:
        first_opportunity = _reserve_ids(cursor, Opportunity, len(paths))
        transition_id = _reserve_ids(cursor, StageTransition, transition_count)
        for offset, path in enumerate(paths):
            opportunity_id = first_opportunity + offset
            owner = rng.choice(people.sas)
            moments = _moments(rng, path, now)
            stamps = [moment.isoformat() for moment in moments]
            final = path[-1]
            engaged_at = next(
                (
                    stamp
                    for stage, stamp in zip(path, stamps, strict=True)
                    if starts_clock[stage.pk]
                ),
                NULL,
            )
            outcome = {Stage.Kind.WON: "won", Stage.Kind.LOST: "lost"}.get(final.kind, "open")
            use_case = rng.choices(use_cases, use_case_weights)[0]
            account = rng.choice(accounts) if rng.random() < 0.98 else NULL
            executive = rng.choice(people.executives) if rng.random() < 0.8 else NULL
            expected_close = (moments[0] + timedelta(days=rng.randint(30, 180))).date()
            values = (
                opportunity_id, f"Deal {opportunity_id} {use_case}", account, process.pk,
                final.pk, owner, executive, people.team_of[owner],
                Decimal(rng.randrange(5_000, 500_000, 500)), "USD", rng.choice(PRODUCTS),
                use_case, rng.choice(SOURCES), rng.choice(("top_down", "bottom_up")),
                expected_close, stamps[0], engaged_at, stamps[-1],
                stamps[-1] if outcome != "open" else NULL, outcome,
                rng.choice(LOSS_REASONS) if outcome == "lost" else "", len(path), stamps[-1],
            )  # fmt: skip
            opportunities.write("\t".join(map(str, values)) + "\n")
            previous = NULL
            derived = visit_times(path, stamps)
            for stage, stamp, (left_at, passed_at) in zip(path, stamps, derived, strict=True):
                left_at, passed_at = left_at or NULL, passed_at or NULL
                transitions.write(
                    f"{transition_id}\t{opportunity_id}\t{previous}\t{stage.pk}\t{stamp}\t"
                    f"{owner}\t\t\t[]\t{left_at}\t{passed_at}\n"
                )
                transition_id += 1
                previous = stage.pk
            for item_id, done_at in _completions(rng, path, moments, required, now):
                completions.write(
                    f"{opportunity_id}\t{item_id}\tt\t{done_at.isoformat()}\t{owner}\t\t\n"
                )
                completion_count += 1

        mark = step("rows", mark)
        loads = (
            (Opportunity, OPPORTUNITY_COLUMNS, opportunities),
            (StageTransition, TRANSITION_COLUMNS, transitions),
            (ChecklistCompletion, COMPLETION_COLUMNS, completions),
        )
        with _without_secondary_indexes(cursor, [model for model, _, _ in loads], step):
            for model, columns, buffer in loads:
                buffer.seek(0)
                table = model._meta.db_table
                cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
            step("copy", mark)
    return len(paths), transition_count, completion_count


@contextmanager
def _without_secondary_indexes(cursor, models, step: Callable[[str, float], float]):
    """Bulk-load the way the PostgreSQL manual advises: drop foreign keys and plain indexes,
    load, then recreate them; one validation pass and one index build per table beat a check
    and an index update per row. Primary keys and unique constraints stay (they are cheap and
    guard the generator itself). All of it runs in the caller's transaction."""
    # ALTER TABLE refuses to run while earlier rows of this transaction (users, accounts) still
    # have deferred foreign-key checks pending; run those checks now.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    saved = []
    for model in models:
        table = model._meta.db_table
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [table],
        )
        indexes = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")  # regclass text: already quoted as needed
        saved.append((table, foreign_keys, indexes))
    yield
    mark = time.perf_counter()
    # More memory for sorts makes each index build a single in-memory pass.
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for table, foreign_keys, indexes in saved:
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
                + sql.SQL(definition)
            )
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    step("indexes and foreign keys", mark)


def _moments(rng: random.Random, path: list[Stage], now: datetime) -> list[datetime]:
    """Strictly increasing entry times, the last one in the past, spread over about 3 years."""
    start = now - timedelta(days=rng.uniform(2, 1100))
    moments = [start]
    for stage in path[:-1]:
        mean_hours = (stage.target_days or 10) * 24
        dwell = max(1.0, rng.expovariate(1 / mean_hours))
        moments.append(moments[-1] + timedelta(hours=dwell))
    latest = now - timedelta(hours=rng.uniform(1, 72))
    if moments[-1] > latest:
        shift = moments[-1] - latest
        moments = [moment - shift for moment in moments]
    return [moment.replace(microsecond=(moment.microsecond // 1000) * 1000) for moment in moments]


def _completions(
    rng: random.Random,
    path: list[Stage],
    moments: list[datetime],
    required: dict[int, list[int]],
    now: datetime,
) -> Iterable[tuple[int, datetime]]:
    """Done items for every stage left forward; the current stage of open deals half the time."""
    done_at: dict[int, datetime] = {}
    for index in range(1, len(path)):
        left, entered = path[index - 1], path[index]
        forward = entered.kind != Stage.Kind.LOST and entered.position > left.position
        if forward and left.pk not in done_at:
            done_at[left.pk] = moments[index] - timedelta(minutes=rng.randint(5, 600))
    current = path[-1]
    if current.kind == Stage.Kind.OPEN and current.pk not in done_at and rng.random() < READY_SHARE:
        entered_at = moments[-1]
        done_at[current.pk] = entered_at + (now - entered_at) * rng.uniform(0.1, 0.9)
    for stage_id, moment in done_at.items():
        for item_id in required.get(stage_id, ()):
            yield item_id, moment


def _reserve_ids(cursor, model, count: int) -> int:
    """Take `count` ids from the table's sequence so COPY can write explicit keys."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
    (sequence,) = cursor.fetchone()
    cursor.execute("SELECT nextval(%s)", [sequence])
    (first,) = cursor.fetchone()
    if count > 1:
        cursor.execute("SELECT setval(%s, %s)", [sequence, first + count - 1])
    return first
