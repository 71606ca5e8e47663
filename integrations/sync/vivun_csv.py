"""Vivun CSV exports: activities (with SE hours) and product gaps, streamed row by row.

The files are the CSV reports an admin exports from Vivun and drops where EPOS can read them.
The default columns are the names of Vivun's standard export (below); a connection's
`settings["columns"][<file>]` renames any of them, and `activity_types`, `gap_severities`,
`gap_statuses` extend the value mappings. Files are read with `utf-8-sig` (Excel's BOM) and
`newline=""`, so CRLF and quoted multi-line cells come through intact, and never read whole.

Settings::

    {"files": {"activities": "/srv/vivun/activities.csv",
               "product_gaps": "/srv/vivun/product_gaps.csv"},
     "columns": {"activities": {"hours": "Hours Logged"}},
     "activity_types": {"Executive Briefing": "meeting"}}
"""

import csv
import hashlib
import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.utils import timezone

from epos.lib.errors import InvalidInput
from integrations.sync.ports import ActivityRow, ProductGapRow, RowProblem, SourceError

FILES = ("activities", "product_gaps")

DEFAULT_COLUMNS = {
    "activities": {
        "external_id": "Activity ID",
        "opportunity_ref": "Opportunity ID",  # the Salesforce id of the deal
        "epos_opportunity_id": "EPOS Opportunity ID",  # optional
        "kind": "Activity Type",
        "occurred_at": "Activity Date",
        "hours": "SE Hours",
        "summary": "Subject",
        "notes": "Notes",  # optional, appended to the summary
        "sa_email": "Assigned SE Email",  # optional
    },
    "product_gaps": {
        "external_id": "Product Gap ID",
        "opportunity_ref": "Opportunity ID",
        "epos_opportunity_id": "EPOS Opportunity ID",
        "title": "Product Gap Name",
        "description": "Description",
        "severity": "Impact",
        "status": "Status",
    },
}
REQUIRED = {
    "activities": ("external_id", "kind", "occurred_at"),
    "product_gaps": ("external_id", "title", "severity"),
}

ACTIVITY_TYPES = {
    "call": "call",
    "phone call": "call",
    "meeting": "meeting",
    "customer meeting": "meeting",
    "discovery": "meeting",
    "demo": "demo",
    "demonstration": "demo",
    "custom demo": "demo",
    "workshop": "workshop",
    "email": "email",
    "poc": "poc_work",
    "poc work": "poc_work",
    "proof of concept": "poc_work",
    "technical validation": "poc_work",
    "note": "note",
    "internal prep": "note",
    "rfp": "note",
}
GAP_SEVERITIES = {
    "deal breaker": "deal_breaker",
    "blocker": "deal_breaker",
    "deal challenge": "deal_challenge",
    "challenge": "deal_challenge",
    "nice to have": "nice_to_have",
    "minor": "nice_to_have",
}
GAP_STATUSES = {
    "": "open",
    "open": "open",
    "new": "open",
    "planned": "planned",
    "committed": "planned",
    "in progress": "planned",
    "resolved": "resolved",
    "released": "resolved",
    "closed": "resolved",
    "won't do": "wont_fix",
    "wont do": "wont_fix",
    "won't fix": "wont_fix",
    "rejected": "wont_fix",
}
DATE_FORMATS = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%Y-%m-%d")
MAX_EXTERNAL_ID = 200
MAX_HOURS = Decimal(1000)


def _string_map(value, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidInput(f"settings.{what} must map names to names.")
    return value


def clean_settings(settings: dict) -> dict:
    """The connection's settings, checked (InvalidInput names what is wrong)."""
    if not isinstance(settings, dict):
        raise InvalidInput("settings must be an object.")
    files = _string_map(settings.get("files"), "files")
    unknown = set(files) - set(FILES)
    if unknown or not files:
        raise InvalidInput(
            f"settings.files must name at least one of {', '.join(FILES)} with a file path."
        )
    for name, path in files.items():
        if not Path(path).is_absolute():
            raise InvalidInput(f"settings.files.{name} must be an absolute path.")
    columns = settings.get("columns") or {}
    if not isinstance(columns, dict) or set(columns) - set(FILES):
        raise InvalidInput(f"settings.columns may only rename columns of {', '.join(FILES)}.")
    for name, renames in columns.items():
        unknown = set(_string_map(renames, f"columns.{name}")) - set(DEFAULT_COLUMNS[name])
        if unknown:
            raise InvalidInput(f"settings.columns.{name}: unknown fields {sorted(unknown)}.")
    choices = {
        "activity_types": {"call", "meeting", "demo", "workshop", "email", "poc_work", "note"},
        "gap_severities": {"deal_breaker", "deal_challenge", "nice_to_have"},
        "gap_statuses": {"open", "planned", "resolved", "wont_fix"},
    }
    for what, allowed in choices.items():
        wrong = set(_string_map(settings.get(what), what).values()) - allowed
        if wrong:
            raise InvalidInput(f"settings.{what}: values must be among {sorted(allowed)}.")
    known = {"files", "columns", *choices}
    if set(settings) - known:
        raise InvalidInput(f"Unknown settings {sorted(set(settings) - known)}.")
    return settings


def _parse_datetime(value: str) -> datetime:
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        for pattern in DATE_FORMATS:
            try:
                parsed = datetime.strptime(value, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD or MM/DD/YYYY)") from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _parse_hours(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        hours = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"SE hours {value!r} is not a number") from None
    if not hours.is_finite() or hours < 0 or hours > MAX_HOURS:
        raise ValueError(f"SE hours {value!r} is out of range (0 to {MAX_HOURS})")
    return int((hours * 60).to_integral_value())


def _parse_deal_id(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise ValueError(f"EPOS Opportunity ID {value!r} is not a number")
    return int(value)


class VivunCsvSource:
    """The `PresalesSource` of a Vivun CSV export; the cursor is each file's SHA-256."""

    def __init__(self, settings: dict, credentials: dict):
        self.settings = settings
        self.files = settings.get("files") or {}
        self.digests: dict[str, str] = {}
        self.activity_types = ACTIVITY_TYPES | {
            k.strip().lower(): v for k, v in (settings.get("activity_types") or {}).items()
        }
        self.severities = GAP_SEVERITIES | {
            k.strip().lower(): v for k, v in (settings.get("gap_severities") or {}).items()
        }
        self.statuses = GAP_STATUSES | {
            k.strip().lower(): v for k, v in (settings.get("gap_statuses") or {}).items()
        }

    def columns(self, name: str) -> dict[str, str]:
        return DEFAULT_COLUMNS[name] | ((self.settings.get("columns") or {}).get(name) or {})

    def check(self) -> str:
        found = []
        for name, path in self.files.items():
            with self._open(path) as stream:
                header = next(csv.reader(stream), None) or []
            missing = self._missing(name, header)
            if missing:
                raise SourceError(f"{path} has no column {', '.join(missing)}.")
            found.append(f"{name.replace('_', ' ')} ({Path(path).name})")
        return f"Found {' and '.join(found)} with the expected columns."

    def _missing(self, name: str, header: list[str]) -> list[str]:
        columns = self.columns(name)
        present = {cell.strip() for cell in header}
        needed = list(REQUIRED[name])
        if "opportunity_ref" not in needed:
            needed.append("opportunity_ref")
        missing = [columns[field] for field in needed if columns[field] not in present]
        # Either of the two deal columns will do.
        if columns["opportunity_ref"] in missing and columns["epos_opportunity_id"] in present:
            missing.remove(columns["opportunity_ref"])
        return missing

    def _open(self, path: str):
        try:
            return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - caller closes
        except OSError as error:
            raise SourceError(f"Cannot open {path}: {error.strerror or error}.") from error

    def read(self, cursor: str) -> Iterator:
        for name in FILES:
            if name in self.files:
                yield from self._read_file(name, self.files[name])

    def _read_file(self, name: str, path: str) -> Iterator:
        digest = hashlib.sha256()

        def hashed(stream):
            for line in stream:
                digest.update(line.encode())
                yield line

        with self._open(path) as stream:
            try:
                reader = csv.reader(hashed(stream))
                header = [cell.strip() for cell in next(reader, [])]
                missing = self._missing(name, header)
                if missing:
                    raise SourceError(f"{path} has no column {', '.join(missing)}.")
                columns = self.columns(name)
                index = {key: header.index(col) for key, col in columns.items() if col in header}
                parse = self._activity if name == "activities" else self._product_gap
                for cells in reader:
                    line = reader.line_num
                    if not any(cell.strip() for cell in cells):
                        continue
                    if len(cells) != len(header):
                        yield RowProblem(
                            line, f"{len(cells)} cells where the header has {len(header)}"
                        )
                        continue
                    row = {field: cells[i].strip() for field, i in index.items()}
                    try:
                        yield parse(line, row)
                    except ValueError as error:
                        yield RowProblem(line, str(error))
            except UnicodeDecodeError as error:
                raise SourceError(f"{path} is not UTF-8 text ({error.reason}).") from error
            except csv.Error as error:
                raise SourceError(f"{path} is not valid CSV: {error}.") from error
        self.digests[name] = digest.hexdigest()

    def _common(self, row: dict, what: str) -> tuple[str, str, int | None]:
        external_id = row.get("external_id", "")
        if not external_id:
            raise ValueError(f"no {what} ID")
        if len(external_id) > MAX_EXTERNAL_ID:
            raise ValueError(f"{what} ID is longer than {MAX_EXTERNAL_ID} characters")
        deal_ref = row.get("opportunity_ref", "")
        deal_id = _parse_deal_id(row.get("epos_opportunity_id", ""))
        if not deal_ref and deal_id is None:
            raise ValueError("no Opportunity ID")
        return external_id, deal_ref, deal_id

    def _activity(self, line: int, row: dict) -> ActivityRow:
        external_id, deal_ref, deal_id = self._common(row, "Activity")
        raw_kind = row.get("kind", "")
        kind = self.activity_types.get(raw_kind.lower())
        if kind is None:
            raise ValueError(
                f"unknown activity type {raw_kind[:60]!r} (map it in settings.activity_types)"
            )
        summary = row.get("summary", "")
        if row.get("notes"):
            summary = f"{summary}\n\n{row['notes']}".strip()
        return ActivityRow(
            line=line,
            external_id=external_id,
            opportunity_ref=deal_ref,
            epos_opportunity_id=deal_id,
            kind=kind,
            occurred_at=_parse_datetime(row.get("occurred_at", "")),
            duration_minutes=_parse_hours(row.get("hours", "")),
            summary=summary,
            sa_email=row.get("sa_email", ""),
        )

    def _product_gap(self, line: int, row: dict) -> ProductGapRow:
        external_id, deal_ref, deal_id = self._common(row, "Product Gap")
        title = row.get("title", "")
        if not title:
            raise ValueError("no product gap name")
        severity = self.severities.get(row.get("severity", "").lower())
        if severity is None:
            raise ValueError(f"unknown impact {row.get('severity', '')[:60]!r}")
        status = self.statuses.get(row.get("status", "").lower())
        if status is None:
            raise ValueError(f"unknown status {row.get('status', '')[:60]!r}")
        return ProductGapRow(
            line=line,
            external_id=external_id,
            opportunity_ref=deal_ref,
            epos_opportunity_id=deal_id,
            title=title[:200],
            description=row.get("description", ""),
            severity=severity,
            status=status,
        )

    def cursor_after(self) -> str:
        return json.dumps(self.digests, sort_keys=True)
