"""What every importer shares: reading CSV files as other tools export them, the plan an importer
builds before anything is written, and the rules that turn a stage history into a deal's state.

An importer (a preset or the generic mapping) only reads files and builds an `ImportPlan`; the
plan carries every rejected row with its file, line and reason. `services.pipeline_import` writes
a plan only when it has no errors, so a bad file never leaves half an import behind.
"""

from __future__ import annotations

import csv
import functools
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

# Model limits the plan checks up front, so a bad value is a rejected row, not a database error.
NAME_MAX = 200
PRODUCT_MAX = 80
ACCOUNT_NAME_MAX = 200
LOSS_REASON_MAX = 200
AMOUNT_MAX = Decimal("999999999999.99")  # max_digits=14, decimal_places=2

# A lost deal needs a loss reason (the move service insists); most exports do not carry one.
IMPORTED_LOSS_REASON = "Not given in the imported data"

OPEN, WON, LOST = "open", "won", "lost"


# --- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """A rejected row (or a whole file when `line` is None), with the reason."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"


# --- reading CSV ---------------------------------------------------------------------------------


@dataclass
class CsvFile:
    name: str
    header: list[str]
    # (physical line where the record starts, header = line 1; values by column, stripped)
    rows: list[tuple[int, dict[str, str]]]

    def has(self, column: str) -> bool:
        return column in self.header


def decode(name: str, data: bytes | str, errors: list[RowError]) -> str | None:
    """Text of an uploaded or read file. A UTF-8 BOM (Salesforce, Excel) is dropped."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        errors.append(
            RowError(name, None, f"is not UTF-8 text (invalid byte at offset {exc.start})")
        )
        return None


def read_csv(name: str, data: bytes | str, errors: list[RowError]) -> CsvFile | None:
    """Parse a CSV export: BOM or not, CRLF or LF, quoted fields that span lines.

    Line numbers are those an editor shows, so a rejected row can be found in the file.
    """
    text = decode(name, data, errors)
    if text is None:
        return None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            errors.append(RowError(name, None, "is empty: no header row"))
            return None
        header = [cell.strip() for cell in header]
        duplicates = sorted(column for column, n in Counter(header).items() if n > 1)
        if duplicates:
            errors.append(RowError(name, 1, f"repeats the column(s) {', '.join(duplicates)}"))
            return None
        rows: list[tuple[int, dict[str, str]]] = []
        previous_line = reader.line_num
        for values in reader:
            line, previous_line = previous_line + 1, reader.line_num
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                errors.append(
                    RowError(
                        name,
                        line,
                        f"has {len(values)} fields where the header has {len(header)}",
                    )
                )
                continue
            rows.append(
                (
                    line,
                    {column: value.strip() for column, value in zip(header, values, strict=True)},
                )
            )
    except csv.Error as exc:
        errors.append(RowError(name, reader.line_num or None, f"is not valid CSV: {exc}"))
        return None
    return CsvFile(name=name, header=header, rows=rows)


def require_columns(csv_file: CsvFile, columns: list[str], errors: list[RowError]) -> bool:
    missing = [column for column in columns if not csv_file.has(column)]
    if missing:
        errors.append(
            RowError(
                csv_file.name,
                1,
                f"missing required column(s): {', '.join(missing)} "
                f"(found: {', '.join(csv_file.header)})",
            )
        )
    return not missing


def find_file(files: dict[str, bytes | str], wanted: str) -> tuple[str, bytes | str] | None:
    """The file called `wanted`, ignoring case (uploads and directories spell names freely)."""
    for name, data in files.items():
        if name.casefold() == wanted.casefold():
            return name, data
    return None


# --- values ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def parse_datetime(value: str, formats: tuple[str, ...]) -> datetime:
    """A UTC datetime from `value`; a date alone is taken at 00:00 UTC.

    `formats` are strptime formats tried in order; "iso" stands for ISO 8601 (a date, or a
    date and time with an optional offset or Z). Cached: an export repeats the same few hundred
    dates thousands of times, and strptime is slow.
    """
    for fmt in formats:
        try:
            parsed = (
                datetime.fromisoformat(value) if fmt == "iso" else datetime.strptime(value, fmt)
            )
        except ValueError:
            continue
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    raise ValueError(value)


def parse_amount(value: str) -> Decimal | None:
    """A non-negative amount with at most two decimals; None when empty."""
    if value == "":
        return None
    try:
        amount = Decimal(value.replace(" ", ""))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{value!r} is not a number")
    if amount < 0:
        raise ValueError(f"{value} is negative")
    amount = amount.quantize(Decimal("0.01"))
    if amount > AMOUNT_MAX:
        raise ValueError(f"{value} is too large")
    return amount


def split_name(full_name: str) -> tuple[str, str]:
    first, _, last = full_name.strip().partition(" ")
    return first[:150], last.strip()[:150]


# --- the plan ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageSpec:
    name: str
    slug: str
    position: int
    kind: str = OPEN
    probability: int = 0
    starts_clock: bool = False
    is_optional: bool = False


@dataclass(frozen=True)
class ProcessSpec:
    """The process deals are imported into: created from this spec by a preset when missing,
    or an existing process (generic imports)."""

    slug: str
    name: str
    stages: tuple[StageSpec, ...]
    description: str = ""
    create_if_missing: bool = True

    @functools.cached_property
    def _by_name(self) -> dict[str, StageSpec]:
        return {stage.name.casefold(): stage for stage in self.stages}

    def stage(self, name: str) -> StageSpec | None:
        return self._by_name.get(name.strip().casefold())

    @functools.cached_property
    def clock_position(self) -> int | None:
        return min((stage.position for stage in self.stages if stage.starts_clock), default=None)

    @functools.cached_property
    def won_position(self) -> int | None:
        return next((stage.position for stage in self.stages if stage.kind == WON), None)

    @property
    def first_open_stage(self) -> StageSpec:
        return min((stage for stage in self.stages if stage.kind == OPEN), key=lambda s: s.position)

    def stage_names(self) -> str:
        return ", ".join(stage.name for stage in sorted(self.stages, key=lambda s: s.position))


@dataclass
class UserRecord:
    external_id: str
    first_name: str = ""
    last_name: str = ""
    roles: set[str] = field(default_factory=set)
    # Generic imports name people already in EPOS: link to a user with this username or email.
    match_existing: bool = False


@dataclass
class TeamRecord:
    external_id: str
    name: str
    region: str = ""
    members: list[str] = field(default_factory=list)  # user external ids
    managers: list[str] = field(default_factory=list)


@dataclass
class AccountRecord:
    external_id: str
    name: str
    industry: str = ""
    segment: str = ""
    employees: int | None = None
    country: str = ""
    business_context: str = ""


@dataclass(frozen=True)
class TransitionRecord:
    stage: str  # a stage name of the plan's process
    moved_at: datetime
    note: str = ""


@dataclass(frozen=True)
class DealState:
    stage: str
    stage_entered_at: datetime
    engaged_at: datetime | None
    closed_at: datetime | None
    outcome: str


@dataclass
class OpportunityRecord:
    external_id: str
    file: str
    line: int
    name: str
    transitions: list[TransitionRecord]
    amount: Decimal = Decimal("0")
    currency: str = "USD"
    product: str = ""
    owner: str | None = None  # UserRecord.external_id
    account: str | None = None  # AccountRecord.external_id
    team: str | None = None  # TeamRecord.external_id
    expected_close_date: date | None = None
    loss_reason: str = ""
    # The file gives no date at all for this deal (its times are the import's "as of"): on a
    # re-import it keeps the times it got when first imported, unless its stages changed.
    undated: bool = False
    state: DealState | None = None

    @property
    def created_at(self) -> datetime:
        return self.transitions[0].moved_at


class ReplayError(ValueError):
    pass


def replay(transitions: list[TransitionRecord], process: ProcessSpec) -> DealState:
    """The deal's state after these moves, by the rules `opportunity_move_to_stage` applies.

    The clock starts at the first entry into the clock stage, any later open stage or Won, and
    is never reset; Won and Lost close the deal and moving back to an open stage reopens it;
    stages after Won (post-sale) keep the win and its close date.
    """
    if not transitions:
        raise ReplayError("has no stage history")
    clock, won_position = process.clock_position, process.won_position
    engaged_at = closed_at = None
    outcome = OPEN
    previous: StageSpec | None = None
    for index, transition in enumerate(transitions):
        stage = process.stage(transition.stage)
        if stage is None:
            raise ReplayError(f"unknown stage {transition.stage!r}")
        if previous is None and stage.kind != OPEN:
            raise ReplayError(f"starts in the closed stage {stage.name!r}")
        if previous is not None and stage.name == previous.name:
            raise ReplayError(f"moves from {stage.name!r} to itself")
        if index and transition.moved_at < transitions[index - 1].moved_at:
            raise ReplayError(
                f"enters {stage.name!r} on {transition.moved_at:%Y-%m-%d}, before the "
                f"previous stage ({transitions[index - 1].moved_at:%Y-%m-%d})"
            )
        post_sale = (
            stage.kind == OPEN and won_position is not None and stage.position > won_position
        )
        if post_sale and outcome != WON:
            raise ReplayError(f"enters {stage.name!r}, which comes after Won, without a win")
        clock_applies = stage.kind == WON or (
            stage.kind == OPEN
            and (stage.starts_clock or (clock is not None and stage.position >= clock))
        )
        if engaged_at is None and clock_applies:
            engaged_at = transition.moved_at
        if post_sale:
            pass
        elif stage.kind == WON:
            outcome, closed_at = WON, transition.moved_at
        elif stage.kind == LOST:
            outcome, closed_at = LOST, transition.moved_at
        else:
            outcome, closed_at = OPEN, None
        previous = stage
    return DealState(
        stage=previous.name,
        stage_entered_at=transitions[-1].moved_at,
        engaged_at=engaged_at,
        closed_at=closed_at,
        outcome=outcome,
    )


def without_repeats(transitions: list[TransitionRecord]) -> list[TransitionRecord]:
    """Drop entries into the stage the deal is already in: a CRM writes a history row on an
    amount or date change too, and staying put is not a move."""
    kept: list[TransitionRecord] = []
    for transition in transitions:
        if kept and kept[-1].stage.casefold() == transition.stage.casefold():
            continue
        kept.append(transition)
    return kept


@dataclass
class ImportPlan:
    system: str
    process: ProcessSpec
    users: dict[str, UserRecord] = field(default_factory=dict)
    teams: dict[str, TeamRecord] = field(default_factory=dict)
    accounts: dict[str, AccountRecord] = field(default_factory=dict)
    opportunities: list[OpportunityRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_read: int = 0

    def reject(self, file: str, line: int | None, message: str) -> None:
        self.errors.append(RowError(file, line, message))

    def sort_errors(self) -> None:
        """Files in the order their first problem was found, rows in line order within each."""
        files: dict[str, int] = {}
        for error in self.errors:
            files.setdefault(error.file, len(files))
        self.errors.sort(key=lambda error: (files[error.file], error.line or 0))

    def add_opportunity(self, record: OpportunityRecord) -> None:
        """Check a deal against the model's limits and the move rules, then keep it."""
        problems = []
        if not record.name:
            problems.append("has no name")
        elif len(record.name) > NAME_MAX:
            problems.append(f"name is longer than {NAME_MAX} characters")
        if len(record.product) > PRODUCT_MAX:
            problems.append(f"product is longer than {PRODUCT_MAX} characters")
        if len(record.loss_reason) > LOSS_REASON_MAX:
            problems.append(f"loss reason is longer than {LOSS_REASON_MAX} characters")
        try:
            record.state = replay(record.transitions, self.process)
        except ReplayError as exc:
            problems.append(f"stage history {exc}")
        if record.state and record.state.outcome == LOST and not record.loss_reason:
            record.loss_reason = IMPORTED_LOSS_REASON
        if record.state and record.state.outcome != LOST:
            record.loss_reason = ""
        for problem in problems:
            self.reject(record.file, record.line, problem)
        if not problems:
            self.opportunities.append(record)

    # --- what the preview shows ---

    def count_by_stage(self) -> list[tuple[str, int]]:
        counts = Counter(record.state.stage for record in self.opportunities)
        ordered = sorted(self.process.stages, key=lambda stage: stage.position)
        return [(stage.name, counts[stage.name]) for stage in ordered if counts[stage.name]]

    def count_by_outcome(self) -> dict[str, int]:
        counts = Counter(record.state.outcome for record in self.opportunities)
        return {outcome: counts.get(outcome, 0) for outcome in (WON, LOST, OPEN)}

    def transition_count(self) -> int:
        return sum(len(record.transitions) for record in self.opportunities)
