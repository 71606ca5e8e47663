"""Deterministic, realistic demo data: people, teams, accounts and ~400 deals with their history.

Two halves. `build_plan` is pure: from a seed, a reference "now" and the shape of the processes
(stages, target days, optional stages, checklist sizes) it decides everything: who, what, how
much, which stages a deal walks through and when. `demo_seed` then replays that plan through the
real services (opportunity_create, checklist_item_set, opportunity_move_to_stage, ...), so the
rows look exactly like rows written by users: gates pass because items were ticked, overrides
come from a manager, and every move appends its transition and outbox event.

Every random draw comes from one `random.Random(seed)` and none depends on "now", so the same
seed always gives the same names, amounts and paths; only the dates slide with the clock, so
the dashboards always look live.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from epos.lib.roles import ADMIN, CURATOR, MANAGER, SA, assign_role, ensure_role_groups
from epos.outbox import outbox_quiet
from opportunities import services
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
from stages import rules
from stages.models import Process, Stage

DEMO_PASSWORD = "epos-demo"  # noqa: S105 - the published demo login, not a secret
DEFAULT_SEED = 42
DEAL_COUNT = 400
ACCOUNT_COUNT = 60
HISTORY_DAYS = 548  # 18 months of history
EPOS_SLUG = "epos-presales"
BANT_SLUG = "b2b-bant"
DEMO_PROCESS_SLUGS = (EPOS_SLUG, BANT_SLUG)


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


def process_shape(process: Process) -> ProcessShape:
    stages = []
    for stage in process.stages.prefetch_related("items").order_by("position"):
        items = list(stage.items.all())
        required = sum(1 for item in items if item.required)
        stages.append(
            StageShape(
                slug=stage.slug,
                name=stage.name,
                kind=stage.kind,
                position=stage.position,
                target_days=stage.target_days,
                is_optional=stage.is_optional,
                required_items=required,
                optional_items=len(items) - required,
            )
        )
    return ProcessShape(slug=process.slug, stages=tuple(stages))


def active_process(slug: str) -> Process:
    process = (
        Process.objects.filter(slug=slug, status=Process.Status.ACTIVE).order_by("-version").first()
    )
    if process is None:
        raise DemoDataError(f"No active process {slug!r}; run `manage.py load_processes` first.")
    return process


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


@dataclass(frozen=True)
class DemoPlan:
    seed: int
    users: tuple[UserPlan, ...]
    teams: tuple[TeamPlan, ...]
    accounts: tuple[AccountPlan, ...]
    deals: tuple[DealPlan, ...]


# --- vocabulary ----------------------------------------------------------------------------------

TEAMS = (
    TeamPlan(name="Observability EMEA", region="EMEA"),
    TeamPlan(name="Security Americas", region="Americas"),
    TeamPlan(name="Search APAC", region="APAC"),
)

PLACES = {
    "EMEA": (
        ("Germany", "Berlin"),
        ("Germany", "Munich"),
        ("France", "Paris"),
        ("United Kingdom", "London"),
        ("United Kingdom", "Manchester"),
        ("Netherlands", "Amsterdam"),
        ("Spain", "Madrid"),
        ("Sweden", "Stockholm"),
        ("Poland", "Warsaw"),
        ("United Arab Emirates", "Dubai"),
        ("Italy", "Milan"),
    ),
    "Americas": (
        ("United States", "New York"),
        ("United States", "Austin"),
        ("United States", "Chicago"),
        ("United States", "Seattle"),
        ("United States", "Atlanta"),
        ("Canada", "Toronto"),
        ("Brazil", "São Paulo"),
        ("Mexico", "Mexico City"),
        ("Chile", "Santiago"),
    ),
    "APAC": (
        ("Singapore", "Singapore"),
        ("Australia", "Sydney"),
        ("Australia", "Melbourne"),
        ("Japan", "Tokyo"),
        ("India", "Bengaluru"),
        ("South Korea", "Seoul"),
        ("New Zealand", "Auckland"),
        ("Indonesia", "Jakarta"),
    ),
}

FIRST_NAMES = (
    "Amelia", "Noah", "Sofia", "Lucas", "Hannah", "Mateo", "Chloe", "Elias", "Priya", "Kenji",
    "Fatima", "Oliver", "Ingrid", "Rafael", "Mei", "Tomasz", "Leila", "Jonas", "Aisha", "Diego",
    "Freya", "Arjun", "Yuki", "Marco", "Nadia", "Samuel", "Elena", "Kwame", "Isabel", "Henrik",
    "Zara", "Pablo", "Anika", "Omar", "Clara", "Daniel", "Sakura", "Luca", "Maya", "Victor",
    "Grace", "Ibrahim", "Julia", "Ethan", "Nora", "Ravi", "Lina", "Felix", "Camila", "Hugo",
)  # fmt: skip
LAST_NAMES = (
    "Schneider", "Okafor", "Martin", "Nakamura", "Kowalski", "Fernández", "Johansson", "Patel",
    "Rossi", "Dubois", "Kim", "Silva", "Müller", "Haddad", "O'Brien", "Novak", "Tanaka", "Larsen",
    "García", "Mensah", "Chen", "Lindqvist", "Moreau", "Singh", "Costa", "Weber", "Ahmed", "Park",
    "Jansen", "Russo", "Kaya", "Nguyen", "Bauer", "Herrera", "Walsh", "Ivanova", "Sato", "Brown",
    "Petrov", "Almeida",
)  # fmt: skip

ACCOUNT_WORDS = (
    "Northwind", "Bluefin", "Harbor", "Alpine", "Crescent", "Ironbridge", "Lakeside", "Meridian",
    "Nordlicht", "Orchid", "Pinecrest", "Quantum", "Redwood", "Silverline", "Tidewater", "Vantage",
    "Westport", "Zenith", "Aurora", "Brightwater", "Cobalt", "Driftwood", "Evergreen", "Fjord",
    "Granite", "Helix", "Juniper", "Keystone", "Lumos", "Monarch", "Nimbus", "Oakridge", "Polaris",
    "Sable", "Summit", "Terra", "Verdant", "Atlas", "Beacon", "Cedar", "Delta", "Ember", "Falcon",
    "Glacier", "Horizon", "Indigo", "Jade", "Bayside", "Lighthouse", "Magnolia", "Neptune",
    "Onyx", "Pioneer", "Quarry", "Riverstone", "Sequoia", "Trident", "Unity", "Vista", "Willow",
    "Yarrow", "Zephyr", "Amber", "Boreal", "Cascade", "Dune", "Equinox", "Foxglove", "Greystone",
    "Halcyon",
)  # fmt: skip

# industry: (weight, name suffixes, systems the business depends on, ownerships to draw from)
INDUSTRIES = {
    "Banking": (
        8, ("Bank", "Capital", "Financial"),
        ("online banking platform", "card payment gateway"), ("public", "private", "state_owned"),
    ),
    "Insurance": (
        5, ("Insurance", "Assurance"), ("claims platform", "policy portal"), ("public", "private"),
    ),
    "Retail": (
        7, ("Retail", "Stores", "Markets"), ("web shop", "point-of-sale network"),
        ("public", "private"),
    ),
    "E-commerce": (6, ("Shop", "Commerce"), ("checkout", "marketplace"), ("private", "public")),
    "Telecommunications": (
        6, ("Telecom", "Networks"), ("subscriber portal", "5G core network"),
        ("public", "state_owned"),
    ),
    "Healthcare": (
        5, ("Health", "Clinics", "Care"), ("patient portal", "clinical systems"),
        ("non_profit", "private", "state_owned"),
    ),
    "Logistics": (
        6, ("Logistics", "Freight"), ("shipment tracking platform", "warehouse management system"),
        ("private", "public"),
    ),
    "Manufacturing": (
        6, ("Industries", "Manufacturing"), ("plant-floor systems", "supplier portal"),
        ("private", "public"),
    ),
    "Public sector": (
        4, ("Agency", "Authority"), ("citizen services portal", "tax filing platform"),
        ("state_owned",),
    ),
    "Energy": (
        4, ("Energy", "Power"), ("smart-meter platform", "grid control systems"),
        ("state_owned", "public"),
    ),
    "Media": (
        4, ("Media", "Broadcasting"), ("streaming platform", "ad-serving stack"),
        ("private", "public"),
    ),
    "Software": (
        7, ("Software", "Labs", "Cloud"), ("SaaS platform", "public developer API"),
        ("private", "public"),
    ),
    "Education": (
        3, ("University", "Academy"), ("learning management system", "student portal"),
        ("non_profit", "state_owned"),
    ),
    "Travel": (
        4, ("Travel", "Airways"), ("booking engine", "mobile app"), ("public", "private"),
    ),
}  # fmt: skip


@dataclass(frozen=True)
class SegmentSpec:
    weight: int
    employees: tuple[int, int]
    median_amount: int  # USD
    deal_weight: float  # how many deals an account of the segment attracts, relatively
    own_infrastructure: float  # share running their own data centres


SEGMENTS = {
    "smb": SegmentSpec(3, (25, 250), 16000, 1.0, 0.3),
    "mid_market": SegmentSpec(4, (250, 5000), 65000, 2.0, 0.55),
    "enterprise": SegmentSpec(3, (5000, 120000), 260000, 3.2, 0.8),
}

PAINS = {
    "observability": (
        "Unexplained outages of its {system} hurt customer satisfaction: customers report "
        "incidents before the on-call team sees them, and **the cause of downtime stays unknown** "
        "for hours.",
        "Monitoring is spread over five tools, so every slowdown of its {system} turns into a "
        "war room where **nobody can follow a request end to end**.",
    ),
    "security": (
        "The security team has **limited visibility and blind spots** across its {system}, "
        "which the last audit flagged as a material risk.",
        "Alerts from the {system} land in separate consoles, so **threats are detected late** and "
        "investigations take days instead of hours.",
    ),
    "search": (
        "Users struggle to find what they need: the search behind its {system} returns "
        "**irrelevant results**, and the conversion rate shows it.",
        "The records behind its {system} run into the millions, and staff **cannot search them "
        "in one place**.",
    ),
}
INFRASTRUCTURE = {
    True: (
        "It runs its own data centres and is moving the first workloads to Kubernetes.",
        "Most systems run on premises, operated by an in-house platform team.",
    ),
    False: (
        "Everything runs on a public cloud, with a small platform team owning the shared tooling.",
        "It buys managed services wherever it can and has no data centre of its own.",
    ),
}

CONTACT_TITLES = {
    "executive": ("CTO", "CIO", "CISO", "VP Engineering", "Chief Digital Officer"),
    "management": (
        "Head of SRE", "IT Operations Manager", "Security Operations Lead",
        "Director of Platform Engineering",
    ),
    "technical": ("Staff SRE", "Platform Engineer", "Security Engineer", "Solutions Architect"),
    "operations": ("NOC Lead", "Service Desk Manager", "Head of Customer Operations"),
}  # fmt: skip

USE_CASES = (("observability", 50), ("security", 32), ("search", 12), ("other", 6))
PRODUCTS = {
    "observability": ("Kestrel APM", "Kestrel Logs"),
    "security": ("Kestrel SIEM", "Kestrel Endpoint", "Kestrel Logs"),
    "search": ("Kestrel Search",),
    "other": ("Kestrel Logs",),
}
DEAL_TOPICS = {
    "observability": (
        "APM rollout", "Log consolidation", "Kubernetes monitoring", "SLO dashboards",
        "Tracing for checkout", "Monitoring tool consolidation",
    ),
    "security": (
        "SIEM migration", "Endpoint visibility", "SOC modernisation", "Cloud security posture",
        "Threat hunting platform",
    ),
    "search": ("Site search", "Knowledge base search", "Catalogue search relaunch"),
    "other": ("Data platform consolidation", "Log retention review"),
}  # fmt: skip
SOURCES = (("inbound", 30), ("outbound", 25), ("target_abm", 18), ("referral", 12), ("partner", 15))
OUTCOMES = (("won", 35), ("lost", 25), ("qualified_out", 5), ("open", 35))
WIN_BIAS = {"referral": 1.35, "partner": 1.15, "inbound": 1.05, "outbound": 0.8, "target_abm": 1.0}

LOSS_REASONS = (
    "Lost to a competitor on price",
    "Customer stayed with the incumbent vendor",
    "No decision: project postponed",
    "Budget cut after reorganisation",
    "Proof of concept missed the success criteria",
    "Procurement chose a bundled suite",
    "Champion left the company",
    "Missing capability was a deal breaker",
)
QUALIFIED_OUT_REASONS = (
    "No budget this fiscal year",
    "Only asked for a price list",
    "Not a fit: needs a fully air-gapped appliance",
    "Too small for a guided evaluation; sent to self-service",
)
OVERRIDE_REASONS = (
    "Customer signed off verbally; the written summary follows next week.",
    "Deal desk approved moving on without the formal sizing sheet.",
    "End of quarter: approved to proceed while the architecture review is pending.",
    "Executive sponsor asked to skip ahead; the checklist will be completed retroactively.",
)
BACK_NOTES = (
    "A new stakeholder joined and asked to see this part again.",
    "Requirements changed after their reorganisation; repeating this step.",
    "The first attempt did not convince the security team; going back.",
)

ACTIVITY_KINDS = (
    # stage slug keyword, activity kinds that fit it
    ("prep", ("note", "email", "call")),
    ("prospect", ("email", "call", "note")),
    ("qualif", ("call", "meeting")),
    ("discover", ("call", "meeting", "workshop")),
    ("demo", ("demo", "meeting")),
    ("proof", ("poc_work", "workshop", "call")),
    ("poc", ("poc_work", "workshop", "call")),
    ("qa", ("call", "email", "meeting")),
    ("solution", ("workshop", "meeting")),
    ("sizing", ("meeting", "email")),
    ("proposal", ("meeting", "email")),
    ("negotiat", ("call", "meeting", "email")),
)
ACTIVITY_SUMMARIES = {
    "call": ("Call with {contact} about {topic}", "Follow-up call on open questions ({topic})"),
    "meeting": ("Meeting with {contact} and team on {topic}", "Status meeting: {topic}"),
    "demo": ("Demo of {product} for {contact}", "Tailored {product} demo on their own data"),
    "workshop": ("Discovery workshop: {topic}", "Architecture workshop with {contact}"),
    "email": ("Sent recap and next steps to {contact}", "Shared reference material on {topic}"),
    "poc_work": (
        "POC: onboarding their staging cluster to {product}",
        "POC: success criteria review",
    ),
    "note": ("Research notes on {account}", "Prepared account plan for {account}"),
}
ACTIVITY_MINUTES = {
    "call": (30, 45),
    "meeting": (45, 60),
    "demo": (60, 90),
    "workshop": (120, 180, 240),
    "poc_work": (60, 120, 240, 480),
    "email": (None,),
    "note": (None,),
}
ESAT_COMMENTS = {
    5: ("Best vendor demo we have had this year.", "Very well prepared, on our own use case."),
    4: ("Good session, a few questions left for the follow-up.", "Helpful and to the point."),
    3: ("OK, but too generic for our environment.",),
    2: ("The demo environment did not match our setup.",),
    1: ("Not what we asked for.",),
}
GAPS = {
    "Kestrel APM": (
        "No auto-instrumentation for mainframe transactions",
        "Missing agent for .NET Framework 3.5",
        "Sampling rules cannot be set per tenant",
    ),
    "Kestrel Logs": (
        "No native ingestion of IBM MQ logs",
        "Retention beyond two years needs manual tiering",
        "Field-level PII masking at ingest",
    ),
    "Kestrel SIEM": (
        "No out-of-the-box SAP audit log parser",
        "Missing FedRAMP High authorisation",
        "Behaviour analytics cannot be tuned per business unit",
    ),
    "Kestrel Endpoint": ("No agent for AIX", "Isolation mode for air-gapped plants"),
    "Kestrel Search": ("No Thai language analyzer", "No A/B testing of relevance tuning"),
}
GAP_SEVERITIES = {
    "lost": (("deal_breaker", 45), ("deal_challenge", 35), ("nice_to_have", 20)),
    "other": (("deal_breaker", 8), ("deal_challenge", 42), ("nice_to_have", 50)),
}
ESAT_STAGE = re.compile(r"demo|proof|poc|solution")


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
    return DemoPlan(seed=seed, users=users, teams=TEAMS, accounts=accounts, deals=deals)


# --- replaying the plan through the services ---------------------------------------------


@dataclass
class _Context:
    now: datetime
    users: dict[str, object] = field(default_factory=dict)
    teams: list[Team] = field(default_factory=list)
    managers: dict[int, object] = field(default_factory=dict)  # team id -> manager
    accounts: list[Account] = field(default_factory=list)
    processes: dict[str, Process] = field(default_factory=dict)
    stages: dict[tuple[str, str], Stage] = field(default_factory=dict)
    required: dict[int, list] = field(default_factory=dict)  # stage id -> required items
    optional: dict[int, list] = field(default_factory=dict)  # stage id -> optional items
    backdated: list[ChecklistCompletion] = field(default_factory=list)
    backdated_gaps: list[ProductGap] = field(default_factory=list)


def _apply_people(plan: DemoPlan, ctx: _Context) -> None:
    ensure_role_groups()
    User = get_user_model()
    # One hash for everyone: PBKDF2 is slow on purpose, and the demo password is public anyway.
    password = make_password(DEMO_PASSWORD)
    for team_plan in plan.teams:
        team, _ = Team.objects.get_or_create(
            name=team_plan.name, defaults={"region": team_plan.region}
        )
        ctx.teams.append(team)
    for user_plan in plan.users:
        user, _ = User.objects.get_or_create(
            username=user_plan.username,
            defaults={
                "first_name": user_plan.first_name,
                "last_name": user_plan.last_name,
                "email": user_plan.email,
                "password": password,
                "is_staff": user_plan.role == ADMIN,
                "is_superuser": user_plan.role == ADMIN,
            },
        )
        assign_role(user, user_plan.role)
        if user_plan.team is not None:
            team = ctx.teams[user_plan.team]
            if user_plan.role == MANAGER:
                team.managers.add(user)
                ctx.managers[team.pk] = user
            else:
                team.members.add(user)
        ctx.users[user_plan.username] = user


def _apply_accounts(plan: DemoPlan, ctx: _Context) -> None:
    actor = ctx.users["admin"]
    for account_plan in plan.accounts:
        account = services.account_create(
            actor=actor,
            name=account_plan.name,
            industry=account_plan.industry,
            segment=account_plan.segment,
            customer_type=account_plan.customer_type,
            ownership=account_plan.ownership,
            employees=account_plan.employees,
            country=account_plan.country,
            city=account_plan.city,
            has_own_infrastructure=account_plan.has_own_infrastructure,
            business_context=account_plan.business_context,
            team=ctx.teams[account_plan.team],
        )
        for contact in account_plan.contacts:
            services.contact_create(
                actor=actor,
                account=account,
                name=contact.name,
                email=contact.email,
                title=contact.title,
                level=contact.level,
                is_decision_maker=contact.is_decision_maker,
                is_champion=contact.is_champion,
            )
        account.created_at = account_plan.created_at
        ctx.accounts.append(account)
    # auto_now_add stamped them "now"; the story starts 18 months ago.
    Account.objects.bulk_update(ctx.accounts, ["created_at"])


def _apply_processes(ctx: _Context) -> None:
    for slug in DEMO_PROCESS_SLUGS:
        process = active_process(slug)
        ctx.processes[slug] = process
        for stage in process.stages.prefetch_related("items").order_by("position"):
            ctx.stages[(slug, stage.slug)] = stage
            items = sorted(stage.items.all(), key=lambda item: (item.position, item.pk))
            for item in items:
                item.stage = stage  # spares checklist_item_set a query per item
            ctx.required[stage.pk] = [item for item in items if item.required]
            ctx.optional[stage.pk] = [item for item in items if not item.required]


def _tick(ctx, opportunity, items, actor, start, end, done: set[int]) -> None:
    todo = [item for item in items if item.pk not in done]
    for number, item in enumerate(todo, start=1):
        completion = services.checklist_item_set(
            opportunity=opportunity, item=item, actor=actor, done=True
        )
        completion.done_at = start + (end - start) * number / (len(todo) + 1)
        ctx.backdated.append(completion)
        done.add(item.pk)


def _apply_deal(deal: DealPlan, ctx: _Context) -> Opportunity:
    owner = ctx.users[deal.owner]
    process = ctx.processes[deal.process]
    account = ctx.accounts[deal.account]
    team = ctx.teams[deal.team]
    opportunity = services.opportunity_create(
        actor=owner,
        process=process,
        name=deal.name,
        account=account,
        owner=owner,
        team=team,
        amount=deal.amount,
        product=deal.product,
        use_case=deal.use_case,
        source=deal.source,
        approach=deal.approach,
        expected_close_date=deal.expected_close_date,
        created_at=deal.created_at,
    )
    if deal.qualification:
        services.qualification_update(
            opportunity=opportunity, actor=owner, **dict(deal.qualification)
        )
    current = opportunity.stage
    entered = deal.created_at
    done: set[int] = set()
    for move in deal.moves:
        to_stage = ctx.stages[(deal.process, move.to_stage)]
        if rules.is_gated_exit(current, to_stage):
            required = ctx.required[current.pk]
            keep_open = required[len(required) - move.skip_required :] if move.skip_required else []
            ticked = [item for item in required if item not in keep_open]
            ticked += ctx.optional[current.pk][: move.optional_done]
            _tick(ctx, opportunity, ticked, owner, entered, move.at, done)
        overriding = bool(move.override_reason) and bool(ctx.required[current.pk])
        opportunity = services.opportunity_move_to_stage(
            opportunity=opportunity,
            to_stage=to_stage,
            actor=ctx.managers[team.pk] if overriding else owner,
            note=move.note,
            override_reason=move.override_reason,
            loss_reason=move.loss_reason,
            qualified_out=move.qualified_out,
            moved_at=move.at,
        )
        current, entered = to_stage, move.at
    if deal.current_items_done and current.kind == Stage.Kind.OPEN:
        items = ctx.required[current.pk][: deal.current_items_done]
        _tick(ctx, opportunity, items, owner, entered, ctx.now, done)
    for activity in deal.activities:
        # Synced activities are written by their sync job (no actor), as in production.
        services.activity_record(
            opportunity=opportunity,
            actor=owner if activity.source == Activity.Source.MANUAL else None,
            kind=activity.kind,
            occurred_at=activity.at,
            duration_minutes=activity.duration_minutes,
            summary=activity.summary,
            source=activity.source,
            external_id=activity.external_id,
        )
    for answer in deal.esat:
        # Answered through the survey link, which writes with no actor.
        services.esat_record(
            opportunity=opportunity,
            actor=None,
            score=answer.score,
            stage=ctx.stages[(deal.process, answer.stage)],
            comment=answer.comment,
            respondent_email=answer.respondent_email,
            received_at=answer.at,
            source=EsatResponse.Source.SURVEY,
        )
    for gap_plan in deal.gaps:
        gap = services.product_gap_create(
            opportunity=opportunity,
            actor=owner,
            title=gap_plan.title,
            severity=gap_plan.severity,
            description=gap_plan.description,
            status=gap_plan.status,
        )
        gap.created_at = gap_plan.at
        ctx.backdated_gaps.append(gap)
    return opportunity


def database_is_empty() -> bool:
    return not Opportunity.objects.exists()


def demo_seed(*, seed: int = DEFAULT_SEED, now: datetime | None = None) -> dict[str, object]:
    """Write the demo data for `seed` in one transaction and return what was created."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    ctx = _Context(now=now)
    # History replayed here is not news: its events are recorded as already delivered.
    with transaction.atomic(), outbox_quiet():
        _apply_processes(ctx)
        shapes = {slug: process_shape(process) for slug, process in ctx.processes.items()}
        plan = build_plan(seed=seed, now=now, processes=shapes)
        _apply_people(plan, ctx)
        _apply_accounts(plan, ctx)
        for deal in plan.deals:
            _apply_deal(deal, ctx)
        # The services stamp "now"; the plan knows when each item was really ticked.
        ChecklistCompletion.objects.bulk_update(ctx.backdated, ["done_at"], batch_size=500)
        ProductGap.objects.bulk_update(ctx.backdated_gaps, ["created_at"], batch_size=500)
    deals = Opportunity.objects.filter(account__in=ctx.accounts)
    outcomes = Counter(deals.values_list("outcome", flat=True))
    return {
        "users": len(ctx.users),
        "teams": len(ctx.teams),
        "accounts": len(ctx.accounts),
        "contacts": Contact.objects.filter(account__in=ctx.accounts).count(),
        "opportunities": sum(outcomes.values()),
        "outcomes": {outcome: outcomes.get(outcome, 0) for outcome in Opportunity.Outcome.values},
        "transitions": StageTransition.objects.filter(opportunity__in=deals).count(),
        "overrides": StageTransition.objects.filter(opportunity__in=deals)
        .exclude(override_reason="")
        .count(),
        "activities": Activity.objects.filter(opportunity__in=deals).count(),
        "esat_responses": EsatResponse.objects.filter(opportunity__in=deals).count(),
        "product_gaps": ProductGap.objects.filter(opportunity__in=deals).count(),
        "qualifications": Qualification.objects.filter(opportunity__in=deals).count(),
    }
