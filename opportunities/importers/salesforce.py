"""Preset `salesforce`: an `Opportunity.csv` and `Opportunity History.csv` export.

Rules, where the export is ambiguous or contradicts itself:
- `StageName` on the opportunity is its current stage. `IsClosed`, `IsWon` and `Probability`
  are ignored: exports are seen where they contradict `StageName`.
- History rows become stage entries in date order (file order within a day). A row repeating
  the stage the deal is already in (Salesforce also writes one when the amount or close date
  changes) is not a move; moves back to an earlier stage are kept.
- The deal is created at `CreatedDate`, or at its first history date when history rows are
  dated earlier (seen in exports), and is taken to be in its first recorded stage from then on.
  When that first recorded stage is already closed, the deal opens in the process's first stage
  at creation and closes at the history date: a deal is never created closed.
- When the last history stage is not `StageName`, a final entry into `StageName` is added: at
  `CloseDate` for a closed stage (not before the last history row), else at the last history
  date, since the export does not say when the move happened.
- Dates are DD/MM/YYYY as Salesforce exports them (a time, or ISO 8601, is also accepted).
- Owners are named by the optional `User.csv` (Id, FirstName/LastName or Name, Username,
  Email): an owner whose Username or Email is a username or email in EPOS is that user,
  anyone else becomes a new user without login. Without a name for an OwnerId (no User.csv,
  or the id is not in it) the user is named by the id, and the plan warns so the preview shows
  it. Accounts are named by their AccountId.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from opportunities.importers.base import (
    LOST,
    OPEN,
    WON,
    AccountRecord,
    ImportPlan,
    OpportunityRecord,
    ProcessSpec,
    StageSpec,
    TransitionRecord,
    UserRecord,
    find_file,
    parse_amount,
    parse_datetime,
    read_csv,
    require_columns,
    split_name,
    without_repeats,
)

SYSTEM = "salesforce"
OPPORTUNITY_FILE = "Opportunity.csv"
HISTORY_FILE = "Opportunity History.csv"
USER_FILE = "User.csv"
FILES = (OPPORTUNITY_FILE, HISTORY_FILE, USER_FILE)
DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "iso")
DATE_HINT = "expected DD/MM/YYYY"

# Salesforce's default sales process with its default probabilities. The four optional stages
# are often switched off in an org; deals skip them.
PROCESS = ProcessSpec(
    slug="salesforce",
    name="Salesforce",
    description="Salesforce's default opportunity stages, for deals imported from Salesforce.",
    stages=(
        StageSpec("Prospecting", "prospecting", 1, OPEN, probability=10, starts_clock=True),
        StageSpec("Qualification", "qualification", 2, OPEN, probability=10),
        StageSpec("Needs Analysis", "needs-analysis", 3, OPEN, probability=20, is_optional=True),
        StageSpec("Value Proposition", "value-proposition", 4, OPEN, probability=50),
        StageSpec(
            "Id. Decision Makers", "id-decision-makers", 5, OPEN, probability=60, is_optional=True
        ),
        StageSpec(
            "Perception Analysis", "perception-analysis", 6, OPEN, probability=70, is_optional=True
        ),
        StageSpec(
            "Proposal/Price Quote",
            "proposal-price-quote",
            7,
            OPEN,
            probability=75,
            is_optional=True,
        ),
        StageSpec("Negotiation/Review", "negotiation-review", 8, OPEN, probability=90),
        StageSpec("Closed Won", "closed-won", 9, WON, probability=100),
        StageSpec("Closed Lost", "closed-lost", 10, LOST, probability=0),
    ),
)

OPPORTUNITY_ID_COLUMNS = ("OppID", "OpportunityId")
FINAL_STAGE_NOTE = "Current stage from Opportunity.StageName; the history has no row for this move."
OPENED_NOTE = "Opened in the first stage: the history starts in a closed stage."


def build_plan(files: dict[str, bytes | str], *, as_of: datetime | None = None) -> ImportPlan:
    plan = ImportPlan(system=SYSTEM, process=PROCESS)
    found = find_file(files, OPPORTUNITY_FILE)
    if found is None:
        plan.reject(OPPORTUNITY_FILE, None, f"is missing (expected files: {', '.join(FILES)})")
        return plan
    opportunities = read_csv(*found, plan.errors)
    found_history = find_file(files, HISTORY_FILE)
    history = read_csv(*found_history, plan.errors) if found_history else None
    if found_history is None:
        plan.warnings.append(f"{HISTORY_FILE} was not given: deals get their current stage only.")
    found_users = find_file(files, USER_FILE)
    users = read_csv(*found_users, plan.errors) if found_users else None
    if opportunities is None or not require_columns(
        opportunities, ["Id", "Name", "StageName", "CreatedDate"], plan.errors
    ):
        return plan
    plan.rows_read = len(opportunities.rows)

    deals, all_ids, deleted = _read_opportunities(opportunities, plan)
    entries = _read_history(history, plan, all_ids, deleted) if history else {}
    _name_owners(users, plan, given=found_users is not None)

    shifted = 0
    for opportunity_id, deal in deals.items():
        record, created_shifted = _build(deal, entries.get(opportunity_id, []))
        shifted += created_shifted
        plan.add_opportunity(record)
    if shifted:
        plan.warnings.append(
            f"{shifted} deal(s) have history rows dated before their CreatedDate: they are taken "
            "as created on their first history date."
        )
    if deleted:
        plan.warnings.append(f"{len(deleted)} deleted deal(s) (IsDeleted) were skipped.")
    return plan


def _date(value: str, column: str, problems: list[str]) -> datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(value, DATE_FORMATS)
    except ValueError:
        problems.append(f"bad {column} {value!r}: {DATE_HINT}")
        return None


def _stage(value: str, problems: list[str]) -> StageSpec | None:
    """The process stage named `value`; a problem when it names none."""
    stage = PROCESS.stage(value) if value else None
    if stage is None:
        problems.append(f"unknown StageName {value!r} (expected {PROCESS.stage_names()})")
    return stage


def _amount(value: str, problems: list[str]) -> Decimal | None:
    """The Amount (None when empty); a problem when it is not a valid amount."""
    try:
        return parse_amount(value)
    except ValueError as exc:
        problems.append(f"bad Amount: {exc}")
        return None


def _read_opportunities(opportunities, plan: ImportPlan):
    """(deals by Id, every Id in the file, the Ids marked IsDeleted); a row with problems is
    rejected, once per problem."""
    deals: dict[str, dict] = {}
    all_ids: set[str] = set()
    deleted: set[str] = set()
    without_amount = 0
    for line, row in opportunities.rows:
        opportunity_id = row["Id"]
        problems = _id_problems(opportunity_id, all_ids)
        all_ids.add(opportunity_id)
        if row.get("IsDeleted", "").upper() == "TRUE":
            deleted.add(opportunity_id)
            continue
        fields = _opportunity_fields(row, problems)
        # parse_amount gives None for an empty Amount only (a bad one is a problem instead).
        without_amount += row.get("Amount", "") == ""
        for problem in problems:
            plan.reject(opportunities.name, line, problem)
        if problems:
            continue
        owner, account = row.get("OwnerId", ""), row.get("AccountId", "")
        _add_owner_and_account(plan, owner, account)
        deals[opportunity_id] = {
            "file": opportunities.name,
            "line": line,
            "id": opportunity_id,
            "name": row["Name"],
            **fields,
            "owner": owner or None,
            "account": account or None,
        }
    if without_amount:
        plan.warnings.append(f"{without_amount} deal(s) have no Amount: imported as 0.")
    return deals, all_ids, deleted


def _id_problems(opportunity_id: str, seen_ids: set[str]) -> list[str]:
    """An empty Id, or one seen on an earlier row."""
    if not opportunity_id:
        return ["Id is empty"]
    if opportunity_id in seen_ids:
        return [f"Id {opportunity_id!r} appears twice"]
    return []


def _opportunity_fields(row: dict, problems: list[str]) -> dict:
    """The row's stage, dates, amount and currency; a problem for each one that is wrong."""
    stage = _stage(row["StageName"], problems)
    if not row["CreatedDate"]:
        problems.append("CreatedDate is empty")
    created = _date(row["CreatedDate"], "CreatedDate", problems)
    close = _date(row.get("CloseDate", ""), "CloseDate", problems)
    amount = _amount(row.get("Amount", ""), problems)
    currency = row.get("CurrencyIsoCode", "") or "USD"
    if len(currency) != 3:
        problems.append(f"bad CurrencyIsoCode {currency!r}")
    return {
        "stage": stage,
        "created": created,
        "close": close,
        "amount": amount,
        "currency": currency.upper(),
    }


def _add_owner_and_account(plan: ImportPlan, owner: str, account: str) -> None:
    """A user for the deal's owner and an account for its account, once each."""
    if owner and owner not in plan.users:
        # Named by the id until User.csv says better (`_name_owners`).
        plan.users[owner] = UserRecord(external_id=owner, first_name=owner[:150], name_known=False)
    if account and account not in plan.accounts:
        plan.accounts[account] = AccountRecord(external_id=account, name=account)


def _name_owners(users, plan: ImportPlan, *, given: bool) -> None:
    """Names (and the usernames and emails that may find them in EPOS) for the owners, from
    User.csv; owners it does not name are named by their id, and the plan says so."""
    if users is not None and require_columns(users, ["Id"], plan.errors):
        for _, row in users.rows:
            record = plan.users.get(row["Id"])
            if record is None:
                continue  # owns none of the imported deals
            first, last = row.get("FirstName", "")[:150], row.get("LastName", "")[:150]
            if not (first or last):
                first, last = split_name(row.get("Name", ""))
            if first or last:
                record.first_name, record.last_name = first, last
                record.name_known = True
            record.match = tuple(
                value for value in (row.get("Username", ""), row.get("Email", "")) if value
            )
    unnamed = [key for key, record in plan.users.items() if not record.name_known]
    if unnamed:
        why = f"are not in {USER_FILE}" if given else f"have no name: {USER_FILE} was not given"
        plan.warnings.append(
            f"{len(unnamed)} owner id(s) {why}. They are listed by id under Owners (such as "
            f"{unnamed[0]}); those not yet in EPOS become users without login named by the id. "
            f"Add the User object's export ({USER_FILE}: Id, FirstName, LastName, Username, "
            "Email) to the upload to name them or find them in EPOS."
        )


def _read_history(history, plan: ImportPlan, all_ids: set[str], deleted: set[str]):
    id_column = next((c for c in OPPORTUNITY_ID_COLUMNS if history.has(c)), None)
    if id_column is None:
        plan.reject(
            history.name, 1, f"missing required column: {' or '.join(OPPORTUNITY_ID_COLUMNS)}"
        )
        return {}
    if not require_columns(history, ["CreatedDate", "StageName"], plan.errors):
        return {}
    entries: dict[str, list[tuple[datetime, int, str]]] = defaultdict(list)
    for line, row in history.rows:
        problems: list[str] = []
        opportunity_id = row[id_column]
        if opportunity_id in deleted:
            continue
        if not opportunity_id:
            problems.append(f"{id_column} is empty")
        elif opportunity_id not in all_ids:
            problems.append(f"{id_column} {opportunity_id!r} is not in {OPPORTUNITY_FILE}")
        stage = _stage(row["StageName"], problems)
        if not row["CreatedDate"]:
            problems.append("CreatedDate is empty")
        moved_at = _date(row["CreatedDate"], "CreatedDate", problems)
        for problem in problems:
            plan.reject(history.name, line, problem)
        if not problems:
            entries[opportunity_id].append((moved_at, line, stage.name))
    return entries


def _build(deal: dict, history: list[tuple[datetime, int, str]]) -> tuple[OpportunityRecord, bool]:
    history = sorted(history)
    first_open = PROCESS.first_open_stage.name
    created = deal["created"]
    shifted = bool(history) and history[0][0] < created
    if shifted:
        created = history[0][0]
    transitions: list[TransitionRecord] = []
    if history:
        first_stage = history[0][2]
        if PROCESS.stage(first_stage).kind == OPEN:
            transitions.append(TransitionRecord(first_stage, created))
        else:
            transitions.append(TransitionRecord(first_open, created, OPENED_NOTE))
            transitions.append(TransitionRecord(first_stage, history[0][0]))
        transitions += [TransitionRecord(stage, moved_at) for moved_at, _, stage in history[1:]]
        transitions = without_repeats(transitions)
    current = deal["stage"]
    if not transitions:
        if current.kind == OPEN:
            transitions.append(TransitionRecord(current.name, created))
        else:
            transitions.append(TransitionRecord(first_open, created, OPENED_NOTE))
    if transitions[-1].stage != current.name:
        last = transitions[-1].moved_at
        at = last
        if current.kind != OPEN and deal["close"] is not None:
            at = max(deal["close"], last)
        transitions.append(TransitionRecord(current.name, at, FINAL_STAGE_NOTE))
    record = OpportunityRecord(
        external_id=deal["id"],
        file=deal["file"],
        line=deal["line"],
        name=deal["name"],
        transitions=transitions,
        amount=deal["amount"],
        currency=deal["currency"],
        owner=deal["owner"],
        account=deal["account"],
        expected_close_date=deal["close"].date() if deal["close"] else None,
    )
    return record, shifted
