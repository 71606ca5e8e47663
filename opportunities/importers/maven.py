"""Preset `maven-crm`: Maven Analytics' "CRM + Sales + Opportunities" files.

`sales_pipeline.csv` is a snapshot, one row per deal with its final stage and two dates, so the
stage history is inferred: a deal is taken to enter Prospecting and Engaging on its engage_date
and Won or Lost on its close_date. Prospecting deals carry no date at all; they are taken as
created at the import's "as of" time, by default the latest date found in the file (so importing
the same file twice gives the same result). `accounts.csv`, `products.csv` and `sales_teams.csv`
are optional and add account profiles, canonical product names and teams.

Sales agents who own deals become users without login (see `services`); `sales_teams.csv` only
says which team ("<manager> (<regional office>)") each agent's deals go to. Nobody is made a
manager or given any role by an import.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from opportunities.importers.base import (
    ACCOUNT_NAME_MAX,
    LOST,
    OPEN,
    WON,
    AccountRecord,
    CsvFile,
    ImportPlan,
    OpportunityRecord,
    ProcessSpec,
    StageSpec,
    TeamRecord,
    TransitionRecord,
    UserRecord,
    find_file,
    parse_amount,
    parse_datetime,
    read_csv,
    require_columns,
    split_name,
)

SYSTEM = "maven-crm"
PIPELINE_FILE = "sales_pipeline.csv"
ACCOUNTS_FILE = "accounts.csv"
PRODUCTS_FILE = "products.csv"
TEAMS_FILE = "sales_teams.csv"
FILES = (PIPELINE_FILE, ACCOUNTS_FILE, PRODUCTS_FILE, TEAMS_FILE)
DATE_FORMATS = ("%Y-%m-%d",)

PROCESS = ProcessSpec(
    slug="maven-crm",
    name="MavenTech pipeline",
    description=(
        "Imported from Maven Analytics' CRM sample: Prospecting, then Engaging (which starts "
        "the MTTC clock), then Won or Lost."
    ),
    stages=(
        StageSpec("Prospecting", "prospecting", 1, OPEN, probability=10),
        # About the share of engaged deals the sample wins, so the weighted pipeline is sane.
        StageSpec("Engaging", "engaging", 2, OPEN, probability=60, starts_clock=True),
        StageSpec("Won", "won", 3, WON, probability=100),
        StageSpec("Lost", "lost", 4, LOST, probability=0),
    ),
)

# Misspellings in the published accounts.csv, corrected so filters and groupings find them.
SPELLING = {"technolgy": "technology", "Philipines": "Philippines"}

# Employee counts to segments: under 1,000 SMB, under 5,000 mid-market, else enterprise.
SEGMENT_LIMITS = ((1000, "smb"), (5000, "mid_market"))


def segment_for(employees: int | None) -> str:
    if employees is None:
        return ""
    for limit, segment in SEGMENT_LIMITS:
        if employees < limit:
            return segment
    return "enterprise"


def product_key(name: str) -> str:
    """Equal for spellings that differ only in spaces or case ("GTXPro" and "GTX Pro")."""
    return re.sub(r"\s+", "", name).casefold()


def build_plan(files: dict[str, bytes | str], *, as_of: datetime | None = None) -> ImportPlan:
    plan = ImportPlan(system=SYSTEM, process=PROCESS)
    found = find_file(files, PIPELINE_FILE)
    if found is None:
        plan.reject(PIPELINE_FILE, None, f"is missing (expected files: {', '.join(FILES)})")
        return plan
    pipeline = read_csv(*found, plan.errors)
    products = _read_optional(files, PRODUCTS_FILE, plan)
    accounts = _read_optional(files, ACCOUNTS_FILE, plan)
    teams = _read_optional(files, TEAMS_FILE, plan)
    canonical_products = _products(products, plan) if products else {}
    if accounts:
        _accounts(accounts, plan)
    agent_teams = _teams(teams, plan) if teams else {}
    if pipeline is not None:
        _pipeline(pipeline, plan, canonical_products, agent_teams, as_of)
    return plan


def _read_optional(files, name: str, plan: ImportPlan) -> CsvFile | None:
    found = find_file(files, name)
    if found is None:
        plan.warnings.append(f"{name} was not given: its details are left out.")
        return None
    return read_csv(*found, plan.errors)


def _products(products: CsvFile, plan: ImportPlan) -> dict[str, str]:
    if not require_columns(products, ["product"], plan.errors):
        return {}
    return {
        product_key(row["product"]): row["product"] for _, row in products.rows if row["product"]
    }


def _accounts(accounts: CsvFile, plan: ImportPlan) -> None:
    if not require_columns(accounts, ["account"], plan.errors):
        return
    for line, row in accounts.rows:
        name = row["account"]
        if not name:
            plan.reject(accounts.name, line, "account is empty")
            continue
        if len(name) > ACCOUNT_NAME_MAX:
            plan.reject(
                accounts.name, line, f"account is longer than {ACCOUNT_NAME_MAX} characters"
            )
            continue
        if name in plan.accounts:
            plan.reject(accounts.name, line, f"account {name!r} is listed twice")
            continue
        employees = None
        if row.get("employees"):
            try:
                employees = int(row["employees"])
                if employees < 0:
                    raise ValueError
            except ValueError:
                plan.reject(
                    accounts.name, line, f"employees {row['employees']!r} is not a whole number"
                )
                continue
        context = []
        if row.get("year_established"):
            context.append(f"Established in {row['year_established']}.")
        if row.get("revenue"):
            context.append(f"Annual revenue: {row['revenue']} million USD.")
        if row.get("subsidiary_of"):
            context.append(f"Subsidiary of {row['subsidiary_of']}.")
        sector = row.get("sector", "")
        country = row.get("office_location", "")
        plan.accounts[name] = AccountRecord(
            external_id=name,
            name=name,
            industry=SPELLING.get(sector, sector)[:80],
            employees=employees,
            segment=segment_for(employees),
            country=SPELLING.get(country, country)[:80],
            business_context=" ".join(context),
        )


def _teams(teams: CsvFile, plan: ImportPlan) -> dict[str, str]:
    """A team per manager and regional office, and each agent's team (by agent name)."""
    agent_teams: dict[str, str] = {}
    if not require_columns(teams, ["sales_agent", "manager", "regional_office"], plan.errors):
        return agent_teams
    for line, row in teams.rows:
        agent, manager, region = row["sales_agent"], row["manager"], row["regional_office"]
        missing = [column for column in ("sales_agent", "manager") if not row[column]]
        if missing:
            plan.reject(teams.name, line, f"{' and '.join(missing)} is empty")
            continue
        if agent in agent_teams:
            plan.reject(teams.name, line, f"agent {agent!r} is listed twice")
            continue
        team_name = f"{manager} ({region})" if region else manager
        if team_name not in plan.teams:
            plan.teams[team_name] = TeamRecord(
                external_id=team_name, name=team_name[:120], region=region[:80]
            )
        agent_teams[agent] = team_name
    return agent_teams


def _owner(plan: ImportPlan, full_name: str) -> None:
    if full_name not in plan.users:
        first, last = split_name(full_name)
        plan.users[full_name] = UserRecord(external_id=full_name, first_name=first, last_name=last)


PIPELINE_COLUMNS = ["opportunity_id", "sales_agent", "product", "account", "deal_stage"]
PIPELINE_COLUMNS += ["engage_date", "close_date", "close_value"]


def _pipeline(
    pipeline: CsvFile,
    plan: ImportPlan,
    canonical_products: dict[str, str],
    agent_teams: dict[str, str],
    as_of: datetime | None,
) -> None:
    if not require_columns(pipeline, PIPELINE_COLUMNS, plan.errors):
        return
    plan.rows_read = len(pipeline.rows)
    parsed = _parse_pipeline_rows(pipeline)
    if as_of is None:
        as_of = _default_as_of(parsed, plan)
    unknown_agents: set[str] = set()
    for line, row, dates, problems in parsed:
        product = canonical_products.get(product_key(row["product"]), row["product"])
        record = _deal(pipeline.name, line, row, dates, problems, product, as_of)
        for problem in problems:
            plan.reject(pipeline.name, line, problem)
        if record is None or problems:
            continue
        agent = row["sales_agent"]
        if agent not in agent_teams and agent_teams:
            unknown_agents.add(agent)
        _owner(plan, agent)
        record.owner = agent
        record.team = agent_teams.get(agent)
        _deal_account(plan, record, pipeline.name, line, row["account"])
        plan.add_opportunity(record)
    for agent in sorted(unknown_agents):
        plan.warnings.append(f"Agent {agent!r} is not in {TEAMS_FILE}: their deals have no team.")


def _parse_pipeline_rows(pipeline: CsvFile) -> list[tuple[int, dict, dict, list[str]]]:
    """(line, row, dates, problems) per row: its parsed dates and the problems found so far
    (a bad date, an opportunity_id seen on an earlier line)."""
    parsed = []
    seen: set[str] = set()
    for line, row in pipeline.rows:
        dates, problems = _pipeline_dates(row)
        parsed.append((line, row, dates, problems))
        opportunity_id = row["opportunity_id"]
        if opportunity_id in seen:
            problems.append(f"opportunity_id {opportunity_id!r} appears twice")
        seen.add(opportunity_id)
    return parsed


def _pipeline_dates(row: dict) -> tuple[dict[str, datetime], list[str]]:
    """The row's engage and close dates, and a problem for each that does not parse."""
    dates: dict[str, datetime] = {}
    problems: list[str] = []
    for column in ("engage_date", "close_date"):
        if row[column]:
            try:
                dates[column] = parse_datetime(row[column], DATE_FORMATS)
            except ValueError:
                problems.append(f"bad {column} {row[column]!r}: expected YYYY-MM-DD")
    return dates, problems


def _default_as_of(parsed: list, plan: ImportPlan) -> datetime:
    """The latest date in the file (now when it has none), with a warning when Prospecting
    deals take it as their creation date."""
    latest = max((value for _, _, dates, _ in parsed for value in dates.values()), default=None)
    as_of = latest or timezone.now()
    if any(row["deal_stage"].casefold() == "prospecting" for _, row, _, _ in parsed):
        plan.warnings.append(
            f"Prospecting deals have no date in this file: they are taken as created on "
            f'{as_of:%Y-%m-%d}, the latest date in the file (set "as of" to choose another).'
        )
    return as_of


def _deal_account(
    plan: ImportPlan, record: OpportunityRecord, file: str, line: int, account: str
) -> None:
    """Link the deal to its account, created with its name only when accounts.csv lacks it."""
    if not account:
        return
    if account not in plan.accounts:
        plan.accounts[account] = AccountRecord(external_id=account, name=account)
        if len(plan.warnings) < 50:
            plan.warnings.append(
                f"{file}, line {line}: account {account!r} is not in "
                f"{ACCOUNTS_FILE}; it is created with its name only."
            )
    record.account = account


def _deal(file, line, row, dates, problems, product: str, as_of) -> OpportunityRecord | None:
    """The deal of one row, or None once its problems are added to `problems`."""
    stage, amount = _deal_fields(row, problems)
    if stage is None or problems:
        return None
    engaged, closed = dates.get("engage_date"), dates.get("close_date")
    if stage.name == "Prospecting":
        problems.extend(_prospecting_date_problems(engaged, closed))
    else:
        problems.extend(_engaged_date_problems(stage, engaged, closed))
    if stage.kind == WON and amount is None:
        problems.append("a won deal needs a close_value")
    if problems:
        return None
    opportunity_id = row["opportunity_id"]
    label = row["account"] or "No account"
    return OpportunityRecord(
        external_id=opportunity_id,
        file=file,
        line=line,
        name=f"{label} · {product} ({opportunity_id})"[:200],
        transitions=_deal_transitions(stage, engaged, closed, as_of),
        product=product,
        amount=amount,
        undated=stage.name == "Prospecting",
    )


def _deal_fields(row: dict, problems: list[str]) -> tuple[StageSpec | None, Decimal | None]:
    """The row's stage and amount; a problem for each required field missing or malformed."""
    if not row["opportunity_id"]:
        problems.append("opportunity_id is empty")
    if not row["sales_agent"]:
        problems.append("sales_agent is empty")
    stage = PROCESS.stage(row["deal_stage"]) if row["deal_stage"] else None
    if stage is None:
        problems.append(
            f"unknown deal_stage {row['deal_stage']!r} (expected {PROCESS.stage_names()})"
        )
    try:
        amount = parse_amount(row["close_value"])
    except ValueError as exc:
        problems.append(f"bad close_value: {exc}")
        amount = None
    return stage, amount


def _prospecting_date_problems(engaged: datetime | None, closed: datetime | None) -> list[str]:
    """A Prospecting deal has neither date."""
    problems = []
    if engaged:
        problems.append("a Prospecting deal has an engage_date: its stage should be Engaging")
    if closed:
        problems.append("an open deal has a close_date")
    return problems


def _engaged_date_problems(
    stage: StageSpec, engaged: datetime | None, closed: datetime | None
) -> list[str]:
    """A deal past Prospecting has an engage date, and a close date (not before it) once
    closed only."""
    problems = []
    if engaged is None:
        problems.append(f"a deal in {stage.name} needs an engage_date")
    if stage.kind == OPEN and closed:
        problems.append("an open deal has a close_date")
    if stage.kind != OPEN and closed is None:
        problems.append(f"a {stage.name} deal needs a close_date")
    if engaged and closed and closed < engaged:
        problems.append(f"close_date {closed:%Y-%m-%d} is before engage_date {engaged:%Y-%m-%d}")
    return problems


def _deal_transitions(
    stage: StageSpec, engaged: datetime | None, closed: datetime | None, as_of: datetime
) -> list[TransitionRecord]:
    """Prospecting at the import's "as of" time; else Prospecting and Engaging when engaged,
    then Won or Lost when closed."""
    if stage.name == "Prospecting":
        return [TransitionRecord("Prospecting", as_of)]
    transitions = [
        TransitionRecord("Prospecting", engaged),
        TransitionRecord("Engaging", engaged),
    ]
    if stage.kind != OPEN:
        transitions.append(TransitionRecord(stage.name, closed))
    return transitions
