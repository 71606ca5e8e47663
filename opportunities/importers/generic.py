"""Generic import: any CSV with one row per deal, described by a mapping file (JSON or YAML).

    process: b2b-sales-bant          # slug of an existing process (its latest version)
    system: hubspot                  # names the source for external ids (default "csv")
    date_format: "%d/%m/%Y"          # strptime format; default ISO 8601 (YYYY-MM-DD)
    currency: EUR                    # when no currency column (default USD)
    columns:                         # EPOS field: CSV column
      external_id: Deal ID           # required, unique per deal
      name: Deal name                # required
      stage: Stage                   # required
      amount: Amount
      currency: Currency
      created: Create date
      engaged: Engaged date
      stage_entered: Entered current stage
      closed: Close date
      expected_close: Expected close date
      owner: Owner                   # a username or email in EPOS, else a new user of that name
      account: Company
      team: Team                     # a team you manage, by name (an admin may name a new one)
      product: Product
      loss_reason: Lost reason
    stages:                          # CSV value: EPOS stage name (others must match a stage)
      closedwon: Won
      closedlost: Lost

A row is a snapshot, so the history is inferred: the deal enters the process's first stage when
created, the clock stage when engaged (if given), and its current stage when it entered it (the
close date for a closed stage; otherwise stage_entered, else engaged, else created).
"""

from __future__ import annotations

import json
from datetime import datetime

import yaml
from django.utils import timezone

from opportunities.importers.base import (
    ACCOUNT_NAME_MAX,
    OPEN,
    AccountRecord,
    ImportPlan,
    OpportunityRecord,
    ProcessSpec,
    RowError,
    StageSpec,
    TeamRecord,
    TransitionRecord,
    UserRecord,
    decode,
    parse_amount,
    parse_datetime,
    read_csv,
    require_columns,
    split_name,
)
from stages.models import Process

FIELDS = (
    "external_id",
    "name",
    "stage",
    "amount",
    "currency",
    "created",
    "engaged",
    "stage_entered",
    "closed",
    "expected_close",
    "owner",
    "account",
    "team",
    "product",
    "loss_reason",
)
REQUIRED_FIELDS = ("external_id", "name", "stage")
DATE_FIELDS = ("created", "engaged", "stage_entered", "closed", "expected_close")
MAPPING_KEYS = {"process", "system", "date_format", "currency", "columns", "stages"}


def read_mapping(name: str, data: bytes | str, errors: list[RowError]) -> dict | None:
    """The mapping as a dict; JSON or YAML (YAML is a superset of JSON, JSON's errors are nicer)."""
    text = decode(name, data, errors)
    if text is None:
        return None
    try:
        mapping = json.loads(text) if name.lower().endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        errors.append(RowError(name, None, f"is not valid JSON or YAML: {exc}"))
        return None
    if not isinstance(mapping, dict):
        errors.append(RowError(name, None, "must be a mapping of keys to values"))
        return None
    return mapping


def process_spec_from_db(slug: str) -> ProcessSpec | None:
    process = Process.objects.filter(slug=slug).order_by("-version").first()
    if process is None:
        return None
    return ProcessSpec.of_process(process)


def _check_mapping(mapping_name: str, mapping: dict, errors: list[RowError]):
    """(process spec, columns, stage names, date format, system, currency) or None."""
    problems = [f"unknown key {key!r}" for key in sorted(set(mapping) - MAPPING_KEYS)]
    columns = _mapping_columns(mapping, problems)
    stage_map = _mapping_stages(mapping, problems)
    process = _mapping_process(mapping, stage_map, problems)
    date_format = str(mapping.get("date_format") or "iso")
    system = _mapping_system(mapping, problems)
    currency = _mapping_currency(mapping, problems)
    for problem in problems:
        errors.append(RowError(mapping_name, None, problem))
    if problems:
        return None
    stage_names = {str(value).strip().casefold(): str(name) for value, name in stage_map.items()}
    return (
        process,
        {k: str(v) for k, v in columns.items() if v},
        stage_names,
        date_format,
        system,
        currency,
    )


def _mapping_columns(mapping: dict, problems: list[str]) -> dict:
    """The mapping's 'columns' (EPOS field: CSV column); its problems go to `problems`."""
    columns = mapping.get("columns")
    if not isinstance(columns, dict):
        problems.append("needs 'columns': a mapping of EPOS fields to CSV columns")
        columns = {}
    problems.extend(f"columns: unknown field {key!r}" for key in sorted(set(columns) - set(FIELDS)))
    problems.extend(
        f"columns: {key!r} is required" for key in REQUIRED_FIELDS if not columns.get(key)
    )
    return columns


def _mapping_stages(mapping: dict, problems: list[str]) -> dict:
    """The mapping's 'stages' (CSV value: EPOS stage name), empty when missing or malformed."""
    stage_map = mapping.get("stages") or {}
    if not isinstance(stage_map, dict):
        problems.append("'stages' must map CSV stage values to EPOS stage names")
        stage_map = {}
    return stage_map


def _mapping_process(mapping: dict, stage_map: dict, problems: list[str]) -> ProcessSpec | None:
    """The spec of the process the mapping names, checked against the stage map."""
    slug = mapping.get("process")
    process = process_spec_from_db(str(slug)) if slug else None
    if not slug:
        problems.append("needs 'process': the slug of the process to import into")
    elif process is None:
        problems.append(f"process {slug!r} does not exist")
    elif not any(stage.kind == OPEN for stage in process.stages):
        problems.append(f"process {slug!r} has no open stage")
    if process:
        problems.extend(_unknown_mapped_stages(process, stage_map))
    return process


def _unknown_mapped_stages(process: ProcessSpec, stage_map: dict) -> list[str]:
    """A problem for each stage map value that names no stage of `process`."""
    return [
        f"stages: {value!r} maps to {stage_name!r}, which is not a stage of "
        f"{process.name} ({process.stage_names()})"
        for value, stage_name in stage_map.items()
        if process.stage(str(stage_name)) is None
    ]


def _mapping_system(mapping: dict, problems: list[str]) -> str:
    """The source system named in external ids (default "csv")."""
    system = str(mapping.get("system") or "csv")
    if len(system) > 40:
        problems.append("system is longer than 40 characters")
    return system


def _mapping_currency(mapping: dict, problems: list[str]) -> str:
    """The currency of rows without a currency column (default USD)."""
    currency = str(mapping.get("currency") or "USD")
    if len(currency) != 3:
        problems.append(f"currency {currency!r} is not a 3-letter code")
    return currency


def build_plan(
    files: dict[str, bytes | str],
    *,
    mapping_name: str,
    mapping_data: bytes | str,
    as_of: datetime | None = None,
) -> ImportPlan:
    errors: list[RowError] = []
    mapping = read_mapping(mapping_name, mapping_data, errors)
    checked = _check_mapping(mapping_name, mapping, errors) if mapping is not None else None
    placeholder = ProcessSpec(slug="", name="", stages=())
    if checked is None:
        plan = ImportPlan(system="csv", process=placeholder)
        plan.errors += errors
        return plan
    process, columns, stage_names, date_format, system, currency = checked
    plan = ImportPlan(system=system, process=process)
    csv_files = [(name, data) for name, data in files.items() if name.lower().endswith(".csv")]
    if len(csv_files) != 1:
        plan.reject("upload", None, f"needs exactly one CSV file, got {len(csv_files)}")
        return plan
    data_file = read_csv(*csv_files[0], plan.errors)
    if data_file is None or not require_columns(data_file, list(columns.values()), plan.errors):
        return plan
    plan.rows_read = len(data_file.rows)
    as_of = as_of or timezone.now()
    formats = (date_format,) if date_format == "iso" else (date_format, "iso")
    seen: set[str] = set()
    for line, row in data_file.rows:
        record = _row(plan, data_file.name, line, row, columns, stage_names, formats, currency)
        if record is None:
            continue
        if record.external_id in seen:
            plan.reject(data_file.name, line, f"external id {record.external_id!r} appears twice")
            continue
        seen.add(record.external_id)
        _complete(plan, record, row, columns, as_of)
    return plan


def _row(plan, file, line, row, columns, stage_names, formats, currency):
    problems: list[str] = []
    value = {field: row.get(column, "") for field, column in columns.items()}
    for field in REQUIRED_FIELDS:
        if not value[field]:
            problems.append(f"{columns[field]} is empty")
    stage = None
    if value["stage"]:
        stage_name = stage_names.get(value["stage"].casefold(), value["stage"])
        stage = plan.process.stage(stage_name)
        if stage is None:
            problems.append(
                f"unknown stage {value['stage']!r} (expected {plan.process.stage_names()}, "
                "or a value listed under 'stages' in the mapping)"
            )
    dates: dict[str, datetime] = {}
    for field in DATE_FIELDS:
        if value.get(field):
            try:
                dates[field] = parse_datetime(value[field], formats)
            except ValueError:
                problems.append(
                    f"bad date in {columns[field]}: {value[field]!r} (expected {formats[0]})"
                )
    amount = None
    if value.get("amount"):
        try:
            amount = parse_amount(value["amount"])
        except ValueError as exc:
            problems.append(f"bad amount in {columns['amount']}: {exc}")
    row_currency = (value.get("currency") or currency).upper()
    if len(row_currency) != 3:
        problems.append(f"bad currency {row_currency!r}")
    if len(value.get("account", "")) > ACCOUNT_NAME_MAX:
        problems.append(f"account is longer than {ACCOUNT_NAME_MAX} characters")
    if stage is not None and not problems:
        problems += _date_problems(stage, dates, columns)
    for problem in problems:
        plan.reject(file, line, problem)
    if problems:
        return None
    return OpportunityRecord(
        external_id=value["external_id"][:255],
        file=file,
        line=line,
        name=value["name"],
        transitions=_transitions(plan.process, stage, dates),
        amount=amount,
        currency=row_currency,
        product=value.get("product", ""),
        loss_reason=value.get("loss_reason", ""),
        expected_close_date=dates["expected_close"].date() if "expected_close" in dates else None,
    )


def _date_problems(stage: StageSpec, dates: dict, columns: dict) -> list[str]:
    problems = []
    closed = dates.get("closed")
    if stage.kind != OPEN and closed is None:
        problems.append(f"a deal in {stage.name!r} needs a close date")
    if stage.kind == OPEN and closed is not None:
        problems.append(f"an open deal (in {stage.name!r}) has a close date")
    order = [field for field in ("created", "engaged", "stage_entered", "closed") if field in dates]
    for earlier, later in zip(order, order[1:], strict=False):
        if dates[later] < dates[earlier]:
            problems.append(
                f"{columns[later]} ({dates[later]:%Y-%m-%d}) is before "
                f"{columns[earlier]} ({dates[earlier]:%Y-%m-%d})"
            )
    return problems


def _transitions(process: ProcessSpec, stage: StageSpec, dates: dict) -> list[TransitionRecord]:
    """The inferred history: the first open stage when created, the clock stage when engaged
    (if the deal got that far), then the stage the deal is in."""
    created = _first_date(dates, "created", "engaged", "stage_entered", "closed")
    engaged = dates.get("engaged")
    post_sale = process.rules.is_post_sale(stage)
    transitions = [TransitionRecord(process.first_open_stage.name, created)]
    clock_stage = _clock_stage(process)
    if engaged and clock_stage and clock_stage.kind == OPEN:
        # A lost deal with an engaged date was engaged before it was lost.
        reaches_clock = stage.kind != OPEN or post_sale or stage.position >= clock_stage.position
        if reaches_clock:
            _enter(transitions, clock_stage.name, engaged)
    entries = _current_stage_entries(process, stage, dates, post_sale=post_sale, created=created)
    for name, at in entries:
        _enter(transitions, name, at)
    return transitions


def _first_date(dates: dict, *fields: str) -> datetime | None:
    """The date of the first of `fields` the row has."""
    return next((dates[field] for field in fields if dates.get(field)), None)


def _clock_stage(process: ProcessSpec) -> StageSpec | None:
    """The first stage (by position) that starts the MTTC clock."""
    return next(
        (s for s in sorted(process.stages, key=lambda s: s.position) if s.starts_clock), None
    )


def _enter(transitions: list[TransitionRecord], name: str, at: datetime | None) -> None:
    """Append a move to `name` unless the deal is already there."""
    if transitions[-1].stage != name:
        transitions.append(TransitionRecord(name, at))


def _current_stage_entries(
    process: ProcessSpec,
    stage: StageSpec,
    dates: dict,
    *,
    post_sale: bool,
    created: datetime | None,
) -> list[tuple[str, datetime | None]]:
    """(stage name, moved at) of the moves that bring the deal into `stage`: through Won for a
    post-sale stage, at the close date for a closed stage, else when it entered the stage."""
    if post_sale:
        won = next(s for s in process.stages if s.position == process.rules.won_position)
        return [
            (won.name, _first_date(dates, "closed", "engaged") or created),
            (stage.name, _first_date(dates, "stage_entered", "closed", "engaged") or created),
        ]
    if stage.kind != OPEN:
        return [(stage.name, dates["closed"])]
    return [(stage.name, _first_date(dates, "stage_entered", "engaged") or created)]


def _complete(plan: ImportPlan, record: OpportunityRecord, row, columns, as_of) -> None:
    """Attach owner, account and team, then add the deal (or its rejection) to the plan."""
    if record.transitions[0].moved_at is None:
        record.undated = True
        record.transitions = [
            TransitionRecord(t.stage, t.moved_at or as_of, t.note) for t in record.transitions
        ]
    owner = row.get(columns.get("owner", ""), "") if "owner" in columns else ""
    if owner:
        if owner not in plan.users:
            first, last = split_name(owner)
            plan.users[owner] = UserRecord(
                external_id=owner, first_name=first, last_name=last, match=(owner,)
            )
        record.owner = owner
    account = row.get(columns["account"], "") if "account" in columns else ""
    if account:
        plan.accounts.setdefault(account, AccountRecord(external_id=account, name=account))
        record.account = account
    team = row.get(columns["team"], "") if "team" in columns else ""
    if team:
        plan.teams.setdefault(team, TeamRecord(external_id=team, name=team[:120]))
        record.team = team
    plan.add_opportunity(record)
