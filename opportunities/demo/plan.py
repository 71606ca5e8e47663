"""The demo plan: everything the demo data will be, decided from a seed without touching the
database (see the package docstring)."""

from __future__ import annotations

import dataclasses
import math
import random
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from epos.lib.roles import ADMIN, CURATOR, MANAGER, SA
from opportunities.demo.data import (
    ACCOUNT_WORDS,
    ACTIVITY_KINDS,
    ACTIVITY_MINUTES,
    ACTIVITY_SUMMARIES,
    BACK_NOTES,
    CONTACT_TITLES,
    DEAL_TOPICS,
    ESAT_COMMENTS,
    ESAT_STAGE,
    FIRST_NAMES,
    GAP_SEVERITIES,
    GAPS,
    INDUSTRIES,
    INFRASTRUCTURE,
    LAST_NAMES,
    LOSS_REASONS,
    OUTCOMES,
    OVERRIDE_REASONS,
    PAINS,
    PLACES,
    PRODUCTS,
    QUALIFIED_OUT_REASONS,
    SEGMENTS,
    SOURCES,
    USE_CASES,
    WIN_BIAS,
)
from opportunities.models import Qualification
from opportunities.myday import MEETING_KINDS
from stages.models import Stage

DEFAULT_SEED = 42
DEAL_COUNT = 400
ACCOUNT_COUNT = 60
HISTORY_DAYS = 548  # 18 months of history
EPOS_SLUG = "epos-presales"
BANT_SLUG = "b2b-bant"
DEMO_PROCESS_SLUGS = (EPOS_SLUG, BANT_SLUG)
# The process the pilot tries: the EPOS playbook changed (opportunities.demo.apply).
PILOT_SLUG = "epos-presales-timeboxed-poc"

# A pilot still running: two SAs of the first team run their new EPOS deals on a playbook with
# a time-boxed POC. Their deals move through the stages faster by PILOT_PACE, which is the
# effect the pilot page then measures against everyone else's deals of the same months.
PILOT_MEMBERS = ("sa1", "sa2")
PILOT_MANAGER = "manager1"
PILOT_STARTED_DAYS_AGO = 240
PILOT_ENDS_IN_DAYS = 60
PILOT_PACE = 0.5

# Hours on the SAs' deals over the last WORKLOAD_DAYS (what a workload page adds up): each SA
# logs a level of their own between these weekly hours, on working days, and has meetings
# booked on their open deals for the next MEETING_DAYS.
WORKLOAD_DAYS = 91
WEEKLY_HOURS = (12.0, 38.0)
MEETING_DAYS = 14
TIMED_KINDS = ("call", "meeting", "demo", "workshop", "poc_work")


class DemoDataError(Exception):
    """The database is not ready for demo data (a process is missing)."""


# --- the shape of a process, as much as the plan needs to know ----------------------------------


@dataclass(frozen=True)
class StageShape:
    slug: str
    name: str
    kind: str
    position: int
    target_days: int | None
    is_optional: bool
    required_items: int
    optional_items: int


@dataclass(frozen=True)
class ProcessShape:
    slug: str
    stages: tuple[StageShape, ...]

    @property
    def open_stages(self) -> tuple[StageShape, ...]:
        return tuple(s for s in self.stages if s.kind == Stage.Kind.OPEN)

    def first_of_kind(self, kind: str) -> StageShape:
        return next(s for s in self.stages if s.kind == kind)


# --- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserPlan:
    username: str
    first_name: str
    last_name: str
    email: str
    role: str
    team: int | None  # index into DemoPlan.teams (member for SAs, managed for managers)


@dataclass(frozen=True)
class TeamPlan:
    name: str
    region: str


@dataclass(frozen=True)
class ContactPlan:
    name: str
    email: str
    title: str
    level: str
    is_decision_maker: bool
    is_champion: bool


@dataclass(frozen=True)
class AccountPlan:
    name: str
    industry: str
    segment: str
    customer_type: str
    ownership: str
    employees: int
    country: str
    city: str
    has_own_infrastructure: bool
    business_context: str
    team: int
    focus: str  # the use case this account mostly buys for
    contacts: tuple[ContactPlan, ...]
    created_at: datetime


@dataclass(frozen=True)
class MovePlan:
    to_stage: str
    at: datetime
    note: str = ""
    # Required items of the stage being left that stay undone; a manager overrides the gate.
    skip_required: int = 0
    override_reason: str = ""
    optional_done: int = 0
    loss_reason: str = ""
    qualified_out: bool = False


@dataclass(frozen=True)
class ActivityPlan:
    kind: str
    at: datetime
    duration_minutes: int | None
    summary: str
    source: str
    external_id: str


@dataclass(frozen=True)
class EsatPlan:
    stage: str
    score: int
    at: datetime
    comment: str
    respondent_email: str


@dataclass(frozen=True)
class GapPlan:
    title: str
    severity: str
    status: str
    description: str
    at: datetime


@dataclass(frozen=True)
class DealPlan:
    name: str
    account: int
    team: int
    owner: str
    process: str
    amount: Decimal
    product: str
    use_case: str
    source: str
    approach: str
    created_at: datetime
    expected_close_date: object
    outcome: str
    moves: tuple[MovePlan, ...]
    current_items_done: int
    qualification: tuple[tuple[str, object], ...]  # empty: never qualified
    activities: tuple[ActivityPlan, ...]
    esat: tuple[EsatPlan, ...]
    gaps: tuple[GapPlan, ...]
    topic: str = ""


@dataclass(frozen=True)
class PilotPlan:
    name: str
    hypothesis: str
    created_by: str
    members: tuple[str, ...]
    starts_on: date
    ends_on: date
    target_value: Decimal  # MTTC change in %


@dataclass(frozen=True)
class DemoPlan:
    seed: int
    users: tuple[UserPlan, ...]
    teams: tuple[TeamPlan, ...]
    accounts: tuple[AccountPlan, ...]
    deals: tuple[DealPlan, ...]
    pilot: PilotPlan


# The three demo teams, one per region (the rest of the vocabulary is in `data`).
TEAMS = (
    TeamPlan(name="Observability EMEA", region="EMEA"),
    TeamPlan(name="Security Americas", region="Americas"),
    TeamPlan(name="Search APAC", region="APAC"),
)


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _slug(text: str) -> str:
    """ASCII letters and digits only, for e-mail addresses ("García" -> "garcia")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())


def _at(day: datetime, rng: random.Random) -> datetime:
    """A time during office hours on `day` (a midnight)."""
    return day + timedelta(hours=rng.randint(8, 17), minutes=rng.choice((0, 15, 30, 45)))


def _midnight(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


# --- plan builders -----------------------------------------------------------------------


def _plan_people(rng: random.Random) -> tuple[UserPlan, ...]:
    pairs = [(first, last) for first in FIRST_NAMES[:20] for last in LAST_NAMES[:20]]
    people = rng.sample(pairs, 14)
    roles = (
        [(f"sa{n}", SA, (n - 1) // 3) for n in range(1, 10)]
        + [(f"manager{n}", MANAGER, n - 1) for n in range(1, 4)]
        + [("curator1", CURATOR, None), ("admin", ADMIN, None)]
    )
    # The second curator, who approves the first one's blocks (and the other way round), takes
    # the first name left over instead of a draw: everyone else keeps the name the seed gave.
    taken_first = {first for first, _ in people}
    taken_last = {last for _, last in people}
    people.append(
        next(
            (first, last)
            for first, last in pairs
            if first not in taken_first and last not in taken_last
        )
    )
    roles.append(("curator2", CURATOR, None))
    users = []
    for (username, role, team), (first, last) in zip(roles, people, strict=True):
        email = f"{_slug(first)}.{_slug(last)}@example.com"
        users.append(UserPlan(username, first, last, email, role, team))
    return tuple(users)


def _plan_contacts(rng: random.Random, account_name: str) -> tuple[ContactPlan, ...]:
    domain = f"{_slug(account_name)}.example.com"
    count = rng.choices((1, 2, 3), weights=(2, 4, 3))[0]
    levels = ["executive", "management", "technical", "operations"]
    chosen = rng.sample(levels, count)
    if count > 1 and "executive" not in chosen and rng.random() < 0.6:
        chosen[0] = "executive"
    contacts = []
    used = set()
    for level in chosen:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        while (first, last) in used:
            first = rng.choice(FIRST_NAMES)
        used.add((first, last))
        decision_maker = level == "executive" or (level == "management" and rng.random() < 0.4)
        champion = level in ("management", "technical") and rng.random() < 0.55
        contacts.append(
            ContactPlan(
                name=f"{first} {last}",
                email=f"{_slug(first)}.{_slug(last)}@{domain}",
                title=rng.choice(CONTACT_TITLES[level]),
                level=level,
                is_decision_maker=decision_maker,
                is_champion=champion,
            )
        )
    return tuple(contacts)


def _plan_accounts(rng: random.Random, now: datetime) -> tuple[AccountPlan, ...]:
    words = rng.sample(ACCOUNT_WORDS, ACCOUNT_COUNT)
    industry_pairs = [(name, spec[0]) for name, spec in INDUSTRIES.items()]
    accounts = []
    for index, word in enumerate(words):
        team = index % len(TEAMS)
        industry = _weighted(rng, industry_pairs)
        _, suffixes, systems, ownerships = INDUSTRIES[industry]
        name = f"{word} {rng.choice(suffixes)}"
        segment = _weighted(rng, [(key, spec.weight) for key, spec in SEGMENTS.items()])
        low, high = SEGMENTS[segment].employees
        # Log-uniform: most companies are at the small end of their segment.
        employees = int(math.exp(rng.uniform(math.log(low), math.log(high))))
        customer_type = "individual" if segment == "smb" and rng.random() < 0.15 else "enterprise"
        ownership = "private" if customer_type == "individual" else rng.choice(ownerships)
        country, city = rng.choice(PLACES[TEAMS[team].region])
        own_infrastructure = rng.random() < SEGMENTS[segment].own_infrastructure
        focus = _weighted(rng, USE_CASES[:3])
        system = rng.choice(systems)
        sentences = [
            f"{name} is a {industry.lower()} company based in {city}, {country}, "
            f"with about {employees:,} employees.",
            rng.choice(PAINS[focus]).format(system=system),
        ]
        if rng.random() < 0.7:
            sentences.append(rng.choice(INFRASTRUCTURE[own_infrastructure]))
        accounts.append(
            AccountPlan(
                name=name,
                industry=industry,
                segment=segment,
                customer_type=customer_type,
                ownership=ownership,
                employees=employees,
                country=country,
                city=city,
                has_own_infrastructure=own_infrastructure,
                business_context=" ".join(sentences),
                team=team,
                focus=focus,
                contacts=_plan_contacts(rng, name),
                created_at=_at(_midnight(now) - timedelta(days=HISTORY_DAYS + 30), rng),
            )
        )
    return tuple(accounts)


@dataclass
class _Visit:
    """One stay in a stage while the plan walks a deal forward."""

    stage: StageShape
    days: int
    enter: datetime | None = None
    leave: datetime | None = None


@dataclass
class _Traits:
    """Per-SA habits, so owners differ on the dashboards (speed, discipline, win rate)."""

    speed: float
    override_rate: float
    win_bias: float


def _dwell_days(rng: random.Random, stage: StageShape, factor: float) -> int:
    mean = (stage.target_days or 10) * factor
    # Gamma with shape 2 has the stage's target as its mean and a realistic long tail.
    return max(1, round(rng.gammavariate(2.0, mean / 2.0)))


def _walk(rng: random.Random, shape: ProcessShape) -> list[StageShape]:
    """The open stages a deal would pass on its way to a win, skipping some optional ones."""
    path = []
    for stage in shape.open_stages:
        if path and stage.is_optional and rng.random() < 0.4:
            continue
        path.append(stage)
    return path


def _plan_deal(
    rng: random.Random,
    *,
    index: int,
    now: datetime,
    shapes: dict[str, ProcessShape],
    accounts: tuple[AccountPlan, ...],
    account_weights: list[float],
    owners_by_team: dict[int, list[str]],
    traits: dict[str, _Traits],
    names_taken: Counter,
    seed: int,
) -> DealPlan:
    account_index = rng.choices(range(len(accounts)), weights=account_weights)[0]
    account = accounts[account_index]
    owner = rng.choice(owners_by_team[account.team])
    trait = traits[owner]
    process_slug = EPOS_SLUG if rng.random() < 0.8 else BANT_SLUG
    shape = shapes[process_slug]

    use_case = account.focus if rng.random() < 0.6 else _weighted(rng, USE_CASES)
    product = rng.choice(PRODUCTS[use_case])
    topic = rng.choice(DEAL_TOPICS[use_case])
    base_name = f"{account.name} – {topic}"
    names_taken[base_name] += 1
    name = base_name if names_taken[base_name] == 1 else f"{base_name} ({names_taken[base_name]})"
    amount = SEGMENTS[account.segment].median_amount * math.exp(rng.gauss(0, 0.55))
    amount = Decimal(max(2500, round(amount / 500) * 500))
    source = _weighted(rng, SOURCES)
    top_down_share = 0.7 if account.segment == "enterprise" else 0.45
    approach = "top_down" if rng.random() < top_down_share else "bottom_up"

    win_weight = 35 * WIN_BIAS[source] * trait.win_bias
    outcome = _weighted(rng, (("won", win_weight),) + OUTCOMES[1:])

    path = _walk(rng, shape)
    if outcome == "qualified_out":
        path = path[: rng.choice((1, 2))]
    elif outcome == "lost":
        weights = [1 + min(i, len(path) - 1 - i) for i in range(len(path))]
        path = path[: rng.choices(range(len(path)), weights=weights)[0] + 1]
    elif outcome == "open":
        weights = [len(path) - i + 1 for i in range(len(path))]
        path = path[: rng.choices(range(len(path)), weights=weights)[0] + 1]

    # Forward visits, with the occasional step back (a visit to the previous stage, then on).
    slow = 1.15 if outcome in ("lost", "open") else 1.0
    visits = [_Visit(stage, _dwell_days(rng, stage, trait.speed * slow)) for stage in path]
    if len(visits) >= 3 and rng.random() < 0.1:
        # Step back from visit `back` to the stage before it, then forward again.
        back = rng.randint(2, len(visits) - 1)
        previous, repeated = visits[back - 1].stage, visits[back].stage
        visits.insert(back + 1, _Visit(previous, _dwell_days(rng, previous, 0.5)))
        visits.insert(back + 2, _Visit(repeated, 1 + rng.randint(0, 5)))
    if outcome == "open":
        current = visits[-1]
        # Most open deals are within their stage's target; about one in eight is stuck.
        stretch = rng.uniform(2, 4) if rng.random() < 0.12 else rng.uniform(0.1, 1.4)
        current.days = max(1, round((current.stage.target_days or 10) * stretch))

    total_days = sum(v.days for v in visits)
    if outcome == "open":
        start_offset = total_days
    else:
        latest = HISTORY_DAYS - total_days - 1
        start_offset = total_days + 1 + (int(rng.random() * latest) if latest > 0 else 0)
    day = _midnight(now) - timedelta(days=start_offset)
    created_at = _at(day, rng)
    for position, visit in enumerate(visits):
        visit.enter = created_at if position == 0 else visits[position - 1].leave
        day += timedelta(days=visit.days)
        visit.leave = _at(day, rng)
    if outcome == "open":
        visits[-1].leave = None
    if _joins_pilot(process_slug, owner, created_at, now):
        process_slug = PILOT_SLUG
        created_at = _quicken(visits, end=visits[-1].leave or now, pace=PILOT_PACE)

    moves = []
    for position in range(1, len(visits)):
        left, entered = visits[position - 1], visits[position]
        moves.append(_move_plan(rng, left=left.stage, to=entered.stage, at=left.leave, trait=trait))
    last = visits[-1]
    if outcome == "won":
        moves.append(
            _move_plan(rng, left=last.stage, to=shape.first_of_kind("won"), at=last.leave,
                       trait=trait)
        )  # fmt: skip
    elif outcome in ("lost", "qualified_out"):
        reasons = QUALIFIED_OUT_REASONS if outcome == "qualified_out" else LOSS_REASONS
        moves.append(
            MovePlan(
                to_stage=shape.first_of_kind("lost").slug,
                at=last.leave,
                loss_reason=rng.choice(reasons),
                qualified_out=outcome == "qualified_out",
            )
        )
    current_items_done = rng.randint(0, last.stage.required_items) if outcome == "open" else 0

    target_total = sum((s.target_days or 10) for s in path)
    if outcome == "open":
        remaining = sum(
            (s.target_days or 10) for s in shape.open_stages if s.position >= last.stage.position
        )
        expected_close = (now + timedelta(days=max(3, remaining + rng.randint(-5, 15)))).date()
    else:
        expected_close = (created_at + timedelta(days=target_total + rng.randint(-10, 20))).date()

    contacts = account.contacts
    activities = _plan_activities(
        rng, visits=visits, now=now, product=product, topic=topic, account=account,
        external_prefix=f"demo-{seed}-{index}",
    )  # fmt: skip
    esat = _plan_esat(rng, visits=visits, outcome=outcome, now=now, contacts=contacts)
    gaps = _plan_gaps(rng, visits=visits, outcome=outcome, product=product, now=now)
    qualification = _plan_qualification(rng, outcome=outcome, account=account)
    return DealPlan(
        name=name,
        account=account_index,
        team=account.team,
        owner=owner,
        process=process_slug,
        amount=amount,
        product=product,
        use_case=use_case,
        source=source,
        approach=approach,
        created_at=created_at,
        expected_close_date=expected_close,
        outcome=outcome,
        moves=tuple(moves),
        current_items_done=current_items_done,
        qualification=qualification,
        activities=activities,
        esat=esat,
        gaps=gaps,
        topic=topic,
    )


def pilot_start(now: datetime) -> datetime:
    """The first moment of the pilot: deals created from then on by a member join it."""
    return _midnight(now) - timedelta(days=PILOT_STARTED_DAYS_AGO)


def _joins_pilot(process_slug: str, owner: str, created_at: datetime, now: datetime) -> bool:
    return process_slug == EPOS_SLUG and owner in PILOT_MEMBERS and created_at >= pilot_start(now)


def _quicken(visits: list[_Visit], *, end: datetime, pace: float) -> datetime:
    """Shorten every stay by `pace`, the deal ending when it did (or still open now); return
    the new creation time. No draw from the generator: the other deals stay as they were."""

    def moved(moment: datetime) -> datetime:
        return (end - (end - moment) * pace).replace(second=0, microsecond=0)

    for visit in visits:
        visit.enter = moved(visit.enter)
        visit.leave = moved(visit.leave) if visit.leave is not None else None
    return visits[0].enter


def _plan_pilot(now: datetime) -> PilotPlan:
    today = _midnight(now).date()
    return PilotPlan(
        name="Time-boxed POC",
        hypothesis=(
            "Writing the success criteria during discovery and time-boxing every proof of "
            "concept to two weeks closes observability deals at least 20 % sooner, without "
            "losing more of them."
        ),
        created_by=PILOT_MANAGER,
        members=PILOT_MEMBERS,
        # A day before the first deal planned into it: a date is read in the site's time
        # zone, a deal's creation in UTC.
        starts_on=today - timedelta(days=PILOT_STARTED_DAYS_AGO + 1),
        ends_on=today + timedelta(days=PILOT_ENDS_IN_DAYS),
        target_value=Decimal("-20"),
    )


def _move_plan(rng, *, left: StageShape, to: StageShape, at: datetime, trait: _Traits) -> MovePlan:
    backward = to.position < left.position
    if backward:
        return MovePlan(to_stage=to.slug, at=at, note=rng.choice(BACK_NOTES))
    skip = 0
    reason = ""
    if left.required_items and rng.random() < trait.override_rate:
        skip = rng.randint(1, left.required_items)
        reason = rng.choice(OVERRIDE_REASONS)
    # Optional items are ticked now and then; each tick costs the service several queries.
    optional_done = min(left.optional_items, rng.choice((0, 0, 0, 1, 2)))
    note = ""
    if rng.random() < 0.25:
        note = f"{left.name} done; moving to {to.name}."
    return MovePlan(
        to_stage=to.slug,
        at=at,
        note=note,
        skip_required=skip,
        override_reason=reason,
        optional_done=optional_done,
    )


def _activity_kinds(stage_slug: str) -> tuple[str, ...]:
    for keyword, kinds in ACTIVITY_KINDS:
        if keyword in stage_slug:
            return kinds
    return ("call", "meeting", "email")


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment strictly inside (start, end), during office hours when the span allows it."""
    moment = start + (end - start) * rng.uniform(0.05, 0.95)
    office = _at(_midnight(moment), rng)
    if start < office < end:
        return office
    return moment.replace(second=0, microsecond=0)


def _plan_activities(
    rng, *, visits, now, product, topic, account: AccountPlan, external_prefix
) -> tuple[ActivityPlan, ...]:
    activities = []
    for visit in visits:
        end = visit.leave or now
        count = rng.choices((0, 1, 2), weights=(3, 6, 1))[0] + (visit.days > 30)
        for _ in range(count):
            kind = rng.choice(_activity_kinds(visit.stage.slug))
            contact = rng.choice(account.contacts).name
            summary = rng.choice(ACTIVITY_SUMMARIES[kind]).format(
                contact=contact, topic=topic.lower(), product=product, account=account.name
            )
            source = _weighted(rng, (("manual", 70), ("google_calendar", 20), ("vivun", 10)))
            if kind in ("email", "note"):
                source = "manual"
            external_id = "" if source == "manual" else f"{external_prefix}-{len(activities)}"
            activities.append(
                ActivityPlan(
                    kind=kind,
                    at=_between(rng, visit.enter, end),
                    duration_minutes=rng.choice(ACTIVITY_MINUTES[kind]),
                    summary=summary,
                    source=source,
                    external_id=external_id,
                )
            )
    return tuple(activities)


@dataclass(frozen=True)
class _Life:
    """A planned deal seen from the outside: when it lived and which stage it was in."""

    index: int
    deal: DealPlan
    entries: tuple[tuple[datetime, str], ...]  # (entered at, stage slug), in time order
    end: datetime | None  # its close; None while open

    @classmethod
    def of(cls, index: int, deal: DealPlan, first_stage: str) -> _Life:
        entries = ((deal.created_at, first_stage), *((m.at, m.to_stage) for m in deal.moves))
        end = deal.moves[-1].at if deal.outcome != "open" else None
        return cls(index, deal, entries, end)

    def alive(self, moment: datetime, now: datetime) -> bool:
        return self.deal.created_at < moment < (self.end or now)

    def stage_at(self, moment: datetime) -> str:
        return [slug for entered, slug in self.entries if entered <= moment][-1]


def _plan_workload(*, seed, now, deals, accounts, shapes) -> tuple[DealPlan, ...]:
    """Add the hours the SAs logged over the last WORKLOAD_DAYS and the meetings booked for the
    next MEETING_DAYS, on the deals each owns that were open at the time.

    A generator of its own (seeded from `seed`) draws them, so the deals, their history and
    everything drawn before stay exactly as they were planned.
    """
    rng = random.Random(f"{seed}:workload")
    today = _midnight(now)
    lives: dict[str, list[_Life]] = defaultdict(list)
    for index, deal in enumerate(deals):
        shape = shapes[EPOS_SLUG if deal.process == PILOT_SLUG else deal.process]
        lives[deal.owner].append(_Life.of(index, deal, shape.open_stages[0].slug))
    added: dict[int, list[ActivityPlan]] = defaultdict(list)

    def add(life: _Life, kind: str, at: datetime, source: str, minutes: int) -> None:
        deal = life.deal
        account = accounts[deal.account]
        summary = rng.choice(ACTIVITY_SUMMARIES[kind]).format(
            contact=rng.choice(account.contacts).name,
            topic=deal.topic.lower(),
            product=deal.product,
            account=account.name,
        )
        number = len(added[life.index])
        external_id = "" if source == "manual" else f"demo-{seed}-{life.index}-w{number}"
        added[life.index].append(ActivityPlan(kind, at, minutes, summary, source, external_id))

    # Levels spread evenly over WEEKLY_HOURS, dealt out at random: someone is always stretched
    # and someone has room, which is what a workload page is for.
    owners = sorted(lives)
    low, high = WEEKLY_HOURS
    levels = [low + (high - low) * n / max(1, len(owners) - 1) for n in range(len(owners))]
    rng.shuffle(levels)
    for owner, weekly_hours in zip(owners, levels, strict=True):
        for offset in range(WORKLOAD_DAYS, 0, -1):
            day = today - timedelta(days=offset)
            if day.weekday() >= 5:
                continue
            budget = weekly_hours * 60 / 5 * rng.uniform(0.5, 1.5)
            while budget > 0:
                at = _at(day, rng)
                alive = [life for life in lives[owner] if life.alive(at, now)]
                if not alive:
                    break
                life = rng.choice(alive)
                fitting = [k for k in _activity_kinds(life.stage_at(at)) if k in TIMED_KINDS]
                kind = rng.choice(fitting or ["call"])
                source = _weighted(rng, (("manual", 60), ("google_calendar", 25), ("vivun", 15)))
                # The day's last piece of work fits what is left of it, when one does.
                lengths = ACTIVITY_MINUTES[kind]
                minutes = rng.choice([m for m in lengths if m <= budget] or [min(lengths)])
                add(life, kind, at, source, minutes)
                budget -= minutes
        open_deals = [life for life in lives[owner] if life.end is None]
        for offset in range(1, MEETING_DAYS + 1):
            day = today + timedelta(days=offset)
            if day.weekday() >= 5 or not open_deals:
                continue
            for _ in range(rng.choices((0, 1, 2), weights=(4, 5, 2))[0]):
                life = rng.choice(open_deals)
                fitting = [k for k in _activity_kinds(life.stage_at(now)) if k in MEETING_KINDS]
                # Booked meetings come in from the calendar; a few are typed in by hand.
                source = _weighted(rng, (("google_calendar", 80), ("manual", 20)))
                kind = rng.choice(fitting or ["meeting"])
                add(life, kind, _at(day, rng), source, rng.choice(ACTIVITY_MINUTES[kind]))
    return tuple(
        dataclasses.replace(deal, activities=deal.activities + tuple(added[index]))
        if added[index]
        else deal
        for index, deal in enumerate(deals)
    )


def _plan_esat(rng, *, visits, outcome, now, contacts) -> tuple[EsatPlan, ...]:
    answers = []
    for visit in visits:
        if not ESAT_STAGE.search(visit.stage.slug) or visit.leave is None:
            continue
        answered = rng.random() < 0.6
        scores = (5, 4, 3, 2, 1)
        weights = (30, 38, 17, 9, 6) if outcome == "lost" else (46, 36, 11, 5, 2)
        score = rng.choices(scores, weights=weights)[0]
        comment = rng.choice(ESAT_COMMENTS[score]) if rng.random() < 0.5 else ""
        at = visit.leave + timedelta(hours=rng.randint(6, 72))
        email = rng.choice(contacts).email
        if answered and at < now:
            answers.append(EsatPlan(visit.stage.slug, score, at, comment, email))
    return tuple(answers)


def _plan_gaps(rng, *, visits, outcome, product, now) -> tuple[GapPlan, ...]:
    chance = {"lost": 0.3, "qualified_out": 0.05}.get(outcome, 0.12)
    if rng.random() >= chance:
        return ()
    severities = GAP_SEVERITIES["lost" if outcome == "lost" else "other"]
    visit = visits[min(len(visits) - 1, rng.randint(1, 3))]
    title = rng.choice(GAPS.get(product, GAPS["Kestrel Logs"]))
    severity = _weighted(rng, severities)
    status = _weighted(rng, (("open", 60), ("planned", 25), ("resolved", 10), ("wont_fix", 5)))
    description = (
        f"Raised by the customer during {visit.stage.name.lower()}; "
        f"{'it blocks the decision' if severity == 'deal_breaker' else 'a workaround exists'}."
    )
    at = _between(rng, visit.enter, visit.leave or now)
    return (GapPlan(title, severity, status, description, at),)


def _plan_qualification(rng, *, outcome, account: AccountPlan) -> tuple[tuple[str, object], ...]:
    if rng.random() >= 0.85:
        return ()
    yes_share = {"won": 0.8, "open": 0.55, "lost": 0.45, "qualified_out": 0.15}[outcome]

    def answer():
        draw = rng.random()
        if draw < yes_share:
            return Qualification.Answer.YES
        return Qualification.Answer.UNKNOWN if draw < yes_share + 0.3 else Qualification.Answer.NO

    levels = [c.level for c in account.contacts]
    answers = {
        "budget": answer(),
        "authority": answer(),
        "need": answer(),
        "timeline": answer(),
        "customer_type_known": rng.random() < 0.9,
        "contact_level": rng.choice(levels),
        "written_requirements": rng.random() < (0.7 if outcome == "won" else 0.4),
        "asks_only_for_price": outcome == "qualified_out" and rng.random() < 0.4,
    }
    if outcome != "qualified_out" and answers["need"] == Qualification.Answer.NO:
        answers["need"] = Qualification.Answer.UNKNOWN
    if answers["budget"] == Qualification.Answer.YES:
        answers["budget_note"] = "Budget line confirmed for this fiscal year."
    if answers["authority"] == Qualification.Answer.YES:
        answers["authority_note"] = "The economic buyer joined the first call."
    return tuple(sorted(answers.items()))


def build_plan(*, seed: int, now: datetime, processes: dict[str, ProcessShape]) -> DemoPlan:
    """Decide all demo data from `seed`; `now` only anchors the dates."""
    missing = set(DEMO_PROCESS_SLUGS) - set(processes)
    if missing:
        raise DemoDataError(f"Missing process shapes: {', '.join(sorted(missing))}")
    rng = random.Random(seed)
    users = _plan_people(rng)
    accounts = _plan_accounts(rng, now)
    owners_by_team: dict[int, list[str]] = {}
    traits = {}
    for user in users:
        if user.role == SA:
            owners_by_team.setdefault(user.team, []).append(user.username)
            traits[user.username] = _Traits(
                speed=rng.uniform(0.75, 1.3),
                override_rate=rng.choice((0.0, 0.03, 0.06, 0.1, 0.15)),
                win_bias=rng.uniform(0.8, 1.2),
            )
    account_weights = [SEGMENTS[account.segment].deal_weight for account in accounts]
    names_taken: Counter = Counter()
    deals = tuple(
        _plan_deal(
            rng,
            index=index,
            now=now,
            shapes=processes,
            accounts=accounts,
            account_weights=account_weights,
            owners_by_team=owners_by_team,
            traits=traits,
            names_taken=names_taken,
            seed=seed,
        )
        for index in range(DEAL_COUNT)
    )
    deals = _plan_workload(seed=seed, now=now, deals=deals, accounts=accounts, shapes=processes)
    return DemoPlan(
        seed=seed,
        users=users,
        teams=TEAMS,
        accounts=accounts,
        deals=deals,
        pilot=_plan_pilot(now),
    )
