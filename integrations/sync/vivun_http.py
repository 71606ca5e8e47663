"""Vivun's HTTP export endpoint: the same reports as the CSV export, as JSON pages.

Offered only with `EPOS_VIVUN_HTTP_EXPORT` on: Vivun documents no public API, so this adapter
follows the export endpoint of accounts that have one. Each export is read from
`{base_url}/{export}` with the connection's API token, page by page (`next` links), asking only
for records modified since the newest "Last Modified Date" the last successful run saw; a 429 is
waited out when its Retry-After is short (integrations.sync.client), else the task retries later.

Records carry the CSV export's column names (vivun_csv.DEFAULT_COLUMNS), renamed per connection
by `settings["fields"]`. Settings::

    {"base_url": "https://acme.vivun.app/api/export/v1",
     "exports": {"product_gaps": ""},
     "fields": {"activities": {"hours": "Hours Logged"}}}

Credentials: `{"token": "..."}`.
"""

import json
from collections.abc import Iterator
from datetime import UTC

from epos.lib.errors import InvalidInput
from integrations.sync.client import VivunExportClient
from integrations.sync.ports import RowProblem
from integrations.sync.vivun_csv import DEFAULT_COLUMNS
from integrations.sync.vivun_mappers import (
    RECORDS,
    VivunMapper,
    check_http_url,
    clean_common_settings,
    parse_datetime,
    string_map,
    text,
)

DEFAULT_EXPORTS = {
    "activities": "activities",
    "product_gaps": "product-gaps",
    "deliverables": "deliverables",
}
MODIFIED = "modified_at"
DEFAULT_MODIFIED_FIELD = "Last Modified Date"
DEFAULT_PAGE_SIZE = 500


def clean_settings(settings: dict) -> dict:
    if not isinstance(settings, dict):
        raise InvalidInput("settings must be an object.")
    if "base_url" not in settings:
        raise InvalidInput("settings.base_url is required (the export endpoint's address).")
    check_http_url(settings["base_url"], "base_url")
    exports = string_map(settings.get("exports"), "exports")
    if set(exports) - set(RECORDS):
        raise InvalidInput(f"settings.exports may only name {', '.join(RECORDS)}.")
    if not any((DEFAULT_EXPORTS | exports).values()):
        raise InvalidInput("settings.exports leaves nothing to sync.")
    fields = settings.get("fields") or {}
    if not isinstance(fields, dict) or set(fields) - set(RECORDS):
        raise InvalidInput(f"settings.fields may only name fields of {', '.join(RECORDS)}.")
    for name, renames in fields.items():
        unknown = set(string_map(renames, f"fields.{name}")) - {*DEFAULT_COLUMNS[name], MODIFIED}
        if unknown:
            raise InvalidInput(f"settings.fields.{name}: unknown fields {sorted(unknown)}.")
    page_size = settings.get("page_size", DEFAULT_PAGE_SIZE)
    if not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= 5000:
        raise InvalidInput("settings.page_size must be a whole number from 1 to 5000.")
    known = {"base_url", "exports", "fields", "page_size", *clean_common_settings(settings)}
    if set(settings) - known:
        raise InvalidInput(f"Unknown settings {sorted(set(settings) - known)}.")
    return settings


class VivunHttpSource:
    """The `PresalesSource` of Vivun's export endpoint; the cursor is each export's newest
    modification time seen."""

    def __init__(self, settings: dict, credentials: dict):
        self.settings = settings
        self.mapper = VivunMapper(settings)
        self.client = VivunExportClient(
            base_url=settings["base_url"],
            token=credentials.get("token", ""),
            page_size=settings.get("page_size", DEFAULT_PAGE_SIZE),
        )
        self.modified: dict[str, str] = {}

    def exports(self) -> dict[str, str]:
        chosen = DEFAULT_EXPORTS | (self.settings.get("exports") or {})
        return {name: chosen[name] for name in RECORDS if chosen.get(name)}

    def fields(self, name: str) -> dict[str, str]:
        given = (self.settings.get("fields") or {}).get(name) or {}
        return DEFAULT_COLUMNS[name] | {MODIFIED: DEFAULT_MODIFIED_FIELD} | given

    def check(self) -> str:
        exports = self.exports()
        for export in exports.values():
            self.client.probe(export)
        names = ", ".join(name.replace("_", " ") for name in exports)
        return f"Vivun answered for {names} at {self.client.base_url}."

    def read(self, cursor: str) -> Iterator:
        previous = self._modified_of(cursor)
        self.modified = dict(previous)
        for name, export in self.exports().items():
            params = {"modified_since": previous[name]} if previous.get(name) else {}
            fields = self.fields(name)
            number = 0
            for page in self.client.pages(export, params):
                for record in page:
                    number += 1
                    yield self._item(name, export, number, record, fields)

    @staticmethod
    def _modified_of(cursor: str) -> dict[str, str]:
        try:
            stamps = json.loads(cursor) if cursor else {}
        except ValueError:
            return {}
        if not isinstance(stamps, dict):
            return {}
        return {k: v for k, v in stamps.items() if isinstance(v, str) and k in RECORDS}

    def _item(self, name: str, export: str, number: int, record, fields: dict):
        if not isinstance(record, dict):
            return RowProblem(f"{export} record {number}", "not an object")
        values = {field: text(record.get(key)) for field, key in fields.items()}
        line = f"{export} {values.get('external_id') or f'record {number}'}"
        self._advance(name, values.pop(MODIFIED, ""))
        try:
            return self.mapper.row(name, line, values)
        except ValueError as error:
            return RowProblem(line, str(error))

    def _advance(self, name: str, value: str) -> None:
        if not value:
            return
        try:
            moment = parse_datetime(value).astimezone(UTC).isoformat(timespec="microseconds")
        except ValueError:
            return
        if moment > self.modified.get(name, ""):
            self.modified[name] = moment

    def cursor_after(self) -> str:
        return json.dumps(self.modified, sort_keys=True)
