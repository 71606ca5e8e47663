"""Vivun CSV exports: activities (with SE hours), product gaps and deliverables, streamed row by
row.

The files are the CSV reports an admin exports from Vivun and drops where EPOS can read them.
The default columns are the names of Vivun's standard export (below); a connection's
`settings["columns"][<file>]` renames any of them, and `activity_types`, `gap_severities`,
`gap_statuses`, `deliverable_statuses` extend the value mappings (integrations.sync.vivun_mappers).
Files are read with `utf-8-sig` (Excel's BOM) and `newline=""`, so CRLF and quoted multi-line
cells come through intact, and never read whole.

Settings::

    {"files": {"activities": "/srv/vivun/activities.csv",
               "product_gaps": "/srv/vivun/product_gaps.csv",
               "deliverables": "/srv/vivun/deliverables.csv"},
     "columns": {"activities": {"hours": "Hours Logged"}},
     "activity_types": {"Executive Briefing": "meeting"},
     "record_urls": {"activities": "https://acme.vivun.app/activities/{id}"}}
"""

import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from epos.lib.errors import InvalidInput
from integrations.sync.ports import RowProblem, SourceError
from integrations.sync.vivun_mappers import (
    RECORDS,
    REQUIRED,
    VivunMapper,
    clean_common_settings,
    string_map,
)

FILES = RECORDS

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
        "url": "Vivun URL",  # optional, else settings.record_urls
    },
    "product_gaps": {
        "external_id": "Product Gap ID",
        "opportunity_ref": "Opportunity ID",
        "epos_opportunity_id": "EPOS Opportunity ID",
        "title": "Product Gap Name",
        "description": "Description",
        "severity": "Impact",
        "status": "Status",
        "sa_email": "Created By Email",
        "url": "Vivun URL",
    },
    "deliverables": {
        "external_id": "Deliverable ID",
        "opportunity_ref": "Opportunity ID",
        "epos_opportunity_id": "EPOS Opportunity ID",
        "deliverable_type": "Deliverable Type",
        "name": "Deliverable Name",
        "status": "Status",
        "occurred_at": "Completed Date",
        "sa_email": "Owner Email",
        "url": "Vivun URL",
    },
}


def clean_settings(settings: dict) -> dict:
    """The connection's settings, checked (InvalidInput names what is wrong)."""
    if not isinstance(settings, dict):
        raise InvalidInput("settings must be an object.")
    files = string_map(settings.get("files"), "files")
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
        unknown = set(string_map(renames, f"columns.{name}")) - set(DEFAULT_COLUMNS[name])
        if unknown:
            raise InvalidInput(f"settings.columns.{name}: unknown fields {sorted(unknown)}.")
    known = {"files", "columns", *clean_common_settings(settings)}
    if set(settings) - known:
        raise InvalidInput(f"Unknown settings {sorted(set(settings) - known)}.")
    return settings


class VivunCsvSource:
    """The `PresalesSource` of a Vivun CSV export; the cursor is each file's SHA-256."""

    def __init__(self, settings: dict, credentials: dict):
        self.settings = settings
        self.files = settings.get("files") or {}
        self.digests: dict[str, str] = {}
        self.mapper = VivunMapper(settings)

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
                        yield self.mapper.row(name, line, row)
                    except ValueError as error:
                        yield RowProblem(line, str(error))
            except UnicodeDecodeError as error:
                raise SourceError(f"{path} is not UTF-8 text ({error.reason}).") from error
            except csv.Error as error:
                raise SourceError(f"{path} is not valid CSV: {error}.") from error
        self.digests[name] = digest.hexdigest()

    def cursor_after(self) -> str:
        return json.dumps(self.digests, sort_keys=True)
