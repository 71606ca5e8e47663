"""Vivun on Salesforce: the custom objects of Vivun's managed package, read with SOQL.

Each run reads the records changed since the last one (`SystemModstamp >=` the newest stamp the
last successful run saw, per object), page by page; the cursor moves only when the run commits.
Re-reading the records of the boundary second is harmless: they come out unchanged.

Object and field names come from the connection's settings, defaulting to the package's names
below (`vh__` is the package's namespace); "Test connection" checks them with `describe()`. A
field set to "" is not read; an object set to "" is not synced. Settings::

    {"login_url": "https://acme.my.salesforce.com",
     "objects": {"product_gaps": ""},
     "fields": {"activities": {"hours": "vh__SE_Hours__c", "sa_email": "vh__SE__r.Email"}},
     "activity_types": {"Executive Briefing": "meeting"}}

Credentials: the connected app's `client_id` and `client_secret` (OAuth client-credentials flow,
which runs as the app's run-as user). Links back go to the record in Lightning.
"""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

from epos.lib.errors import InvalidInput
from integrations.sync.client import SalesforceClient
from integrations.sync.ports import RowProblem, SourceError
from integrations.sync.vivun_mappers import (
    FIELDS,
    RECORDS,
    REQUIRED,
    VivunMapper,
    check_http_url,
    clean_common_settings,
    parse_datetime,
    string_map,
    text,
)

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
DEFAULT_API_VERSION = "60.0"
MODSTAMP = "SystemModstamp"
DEFAULT_OBJECTS = {
    "activities": "vh__Activity__c",
    "product_gaps": "vh__Product_Gap__c",
    "deliverables": "vh__Deliverable__c",
}
DEFAULT_FIELDS = {
    "activities": {
        "external_id": "Id",
        "opportunity_ref": "vh__Opportunity__c",
        "epos_opportunity_id": "",
        "kind": "vh__Type__c",
        "occurred_at": "vh__Date__c",
        "hours": "vh__Hours__c",
        "summary": "vh__Subject__c",
        "notes": "vh__Notes__c",
        "sa_email": "Owner.Email",
        "url": "",
    },
    "product_gaps": {
        "external_id": "Id",
        "opportunity_ref": "vh__Opportunity__c",
        "epos_opportunity_id": "",
        "title": "Name",
        "description": "vh__Description__c",
        "severity": "vh__Impact__c",
        "status": "vh__Status__c",
        "sa_email": "CreatedBy.Email",
        "url": "",
    },
    "deliverables": {
        "external_id": "Id",
        "opportunity_ref": "vh__Opportunity__c",
        "epos_opportunity_id": "",
        "deliverable_type": "vh__Type__c",
        "name": "Name",
        "status": "vh__Status__c",
        "occurred_at": "vh__Completed_Date__c",
        "sa_email": "Owner.Email",
        "url": "",
    },
}
# An API name, or a relationship path to one ("Owner.Email"): nothing else reaches the SOQL.
API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}(\.[A-Za-z][A-Za-z0-9_]{0,79}){0,4}$")
API_VERSION = re.compile(r"^[0-9]{2,3}\.0$")


def _api_name(value, what: str, *, path: bool = True) -> str:
    if not isinstance(value, str) or (value and not API_NAME.match(value)):
        raise InvalidInput(f"settings.{what} must be a Salesforce API name.")
    if not path and "." in value:
        raise InvalidInput(f"settings.{what} must be an object's API name.")
    return value


def clean_settings(settings: dict) -> dict:
    if not isinstance(settings, dict):
        raise InvalidInput("settings must be an object.")
    check_http_url(settings.get("login_url", DEFAULT_LOGIN_URL), "login_url")
    if not settings.get("login_url", DEFAULT_LOGIN_URL).startswith("https://"):
        raise InvalidInput("settings.login_url must be an https URL.")
    version = settings.get("api_version", DEFAULT_API_VERSION)
    if not isinstance(version, str) or not API_VERSION.match(version):
        raise InvalidInput('settings.api_version must look like "60.0".')
    objects = string_map(settings.get("objects"), "objects")
    if set(objects) - set(RECORDS):
        raise InvalidInput(f"settings.objects may only name {', '.join(RECORDS)}.")
    for name, api_name in objects.items():
        _api_name(api_name, f"objects.{name}", path=False)
    if not any((DEFAULT_OBJECTS | objects).values()):
        raise InvalidInput("settings.objects leaves nothing to sync.")
    fields = settings.get("fields") or {}
    if not isinstance(fields, dict) or set(fields) - set(RECORDS):
        raise InvalidInput(f"settings.fields may only name fields of {', '.join(RECORDS)}.")
    for name, renames in fields.items():
        renames = string_map(renames, f"fields.{name}")
        unknown = set(renames) - set(FIELDS[name])
        if unknown:
            raise InvalidInput(f"settings.fields.{name}: unknown fields {sorted(unknown)}.")
        for field, api_name in renames.items():
            _api_name(api_name, f"fields.{name}.{field}")
            if not api_name and (field in REQUIRED[name] or field == "opportunity_ref"):
                raise InvalidInput(f"settings.fields.{name}.{field} cannot be left out.")
    known = {"login_url", "api_version", "objects", "fields", *clean_common_settings(settings)}
    if set(settings) - known:
        raise InvalidInput(f"Unknown settings {sorted(set(settings) - known)}.")
    return settings


def _dig(record: dict, path: str):
    """A value of a record by API name or relationship path (None along the way gives None)."""
    value = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _soql_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class VivunSalesforceSource:
    """The `PresalesSource` of Vivun's objects in Salesforce; the cursor is each object's newest
    SystemModstamp seen, to the second."""

    def __init__(self, settings: dict, credentials: dict):
        self.settings = settings
        self.mapper = VivunMapper(settings)
        self.client = SalesforceClient(
            login_url=settings.get("login_url", DEFAULT_LOGIN_URL),
            client_id=credentials.get("client_id", ""),
            client_secret=credentials.get("client_secret", ""),
            api_version=settings.get("api_version", DEFAULT_API_VERSION),
        )
        self.stamps: dict[str, str] = {}

    def objects(self) -> dict[str, str]:
        """Kind of record → its object's API name, for the kinds this connection syncs."""
        chosen = DEFAULT_OBJECTS | (self.settings.get("objects") or {})
        return {name: chosen[name] for name in RECORDS if chosen.get(name)}

    def fields(self, name: str) -> dict[str, str]:
        given = (self.settings.get("fields") or {}).get(name) or {}
        return {field: path for field, path in (DEFAULT_FIELDS[name] | given).items() if path}

    # --- check ----------------------------------------------------------------------------------

    def check(self) -> str:
        found = []
        for name, object_name in self.objects().items():
            description = self.client.describe(object_name)
            if not description.get("queryable", True):
                raise SourceError(f"Salesforce does not let this user query {object_name}.")
            missing = self._missing(description, [*self.fields(name).values(), MODSTAMP])
            if missing:
                raise SourceError(f"{object_name} has no field {', '.join(missing)}.")
            found.append(object_name)
        return f"Found {', '.join(found)} with the expected fields on {self.client.instance_url}."

    @staticmethod
    def _missing(description: dict, paths: list[str]) -> list[str]:
        names = {field["name"].lower() for field in description.get("fields", [])}
        relations = {
            (field.get("relationshipName") or "").lower() for field in description.get("fields", [])
        }
        missing = []
        for path in paths:
            head = path.split(".")[0].lower()
            if ("." in path and head not in relations) or ("." not in path and head not in names):
                missing.append(path)
        return missing

    # --- read -----------------------------------------------------------------------------------

    def soql(self, name: str, object_name: str, since: str | None) -> str:
        columns = list(dict.fromkeys([*self.fields(name).values(), "Id", MODSTAMP]))
        where = f" WHERE {MODSTAMP} >= {since}" if since else ""
        # Names are checked API names (clean_settings), `since` a re-formatted timestamp.
        return f"SELECT {', '.join(columns)} FROM {object_name}{where} ORDER BY {MODSTAMP}, Id"  # noqa: S608

    def read(self, cursor: str) -> Iterator:
        previous = self._stamps_of(cursor)
        self.stamps = dict(previous)
        for name, object_name in self.objects().items():
            soql = self.soql(name, object_name, previous.get(name))
            for record in self.client.query(soql, f"the query of {object_name}"):
                yield self._item(name, object_name, record)

    @staticmethod
    def _stamps_of(cursor: str) -> dict[str, str]:
        if not cursor:
            return {}
        try:
            stamps = json.loads(cursor)
        except ValueError:
            return {}
        if not isinstance(stamps, dict):
            return {}
        # Re-formatted from a parsed date: nothing but a timestamp reaches the SOQL.
        checked = {}
        for name, stamp in stamps.items():
            try:
                checked[name] = _soql_datetime(parse_datetime(str(stamp)))
            except ValueError:
                continue
        return {name: stamp for name, stamp in checked.items() if name in RECORDS}

    def _item(self, name: str, object_name: str, record: dict):
        record_id = text(record.get("Id"))
        line = f"{object_name} {record_id or '(no Id)'}"
        self._advance(name, record.get(MODSTAMP))
        values = {field: text(_dig(record, path)) for field, path in self.fields(name).items()}
        if not values.get("url") and record_id and name not in self.mapper.record_urls:
            values["url"] = self.client.record_url(object_name, record_id)
        try:
            return self.mapper.row(name, line, values)
        except ValueError as error:
            return RowProblem(line, str(error))

    def _advance(self, name: str, stamp) -> None:
        if not stamp:
            return
        try:
            moment = _soql_datetime(parse_datetime(str(stamp)))
        except ValueError:
            return
        if moment > self.stamps.get(name, ""):
            self.stamps[name] = moment

    def cursor_after(self) -> str:
        return json.dumps(self.stamps, sort_keys=True)
