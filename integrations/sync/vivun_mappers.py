"""Vivun's records as EPOS rows: pure functions shared by every Vivun adapter.

An adapter (CSV file, Salesforce object, HTTP export) reads a record into a dict of field name →
text (`FIELDS` names them) and hands it to `VivunMapper`, which checks and converts the values:
Vivun's activity types, impacts and statuses to EPOS choices (extended by the connection's
`activity_types`, `gap_severities`, `gap_statuses`, `deliverable_statuses` settings), dates,
SE hours, and the link back to the record (the record's own URL, or the connection's
`record_urls` template with `{id}`). A value that cannot be read raises ValueError naming it;
the adapter reports the row with that reason.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import quote, urlsplit

from django.utils import timezone

from epos.lib.errors import InvalidInput
from integrations.sync.ports import ActivityRow, DeliverableRow, ProductGapRow

RECORDS = ("activities", "product_gaps", "deliverables")

# What each kind of record carries; adapters map their own names (columns, API fields) to these.
FIELDS = {
    "activities": (
        "external_id",
        "opportunity_ref",  # the Salesforce id of the deal
        "epos_opportunity_id",
        "kind",
        "occurred_at",
        "hours",
        "summary",
        "notes",
        "sa_email",
        "url",
    ),
    "product_gaps": (
        "external_id",
        "opportunity_ref",
        "epos_opportunity_id",
        "title",
        "description",
        "severity",
        "status",
        "sa_email",
        "url",
    ),
    "deliverables": (
        "external_id",
        "opportunity_ref",
        "epos_opportunity_id",
        "deliverable_type",
        "name",
        "status",
        "occurred_at",
        "sa_email",
        "url",
    ),
}
REQUIRED = {
    "activities": ("external_id", "kind", "occurred_at"),
    "product_gaps": ("external_id", "title", "severity"),
    "deliverables": ("external_id", "deliverable_type", "name"),
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
# Only a finished deliverable is evidence; a draft is synced and shown, but completes nothing.
DELIVERABLE_STATUSES = {
    "not started": "open",
    "draft": "open",
    "open": "open",
    "in progress": "open",
    "in review": "open",
    "completed": "done",
    "complete": "done",
    "done": "done",
    "delivered": "done",
    "shared": "done",
    "approved": "done",
    "accepted": "done",
}
VALUE_MAPS = {
    "activity_types": (
        ACTIVITY_TYPES,
        {"call", "meeting", "demo", "workshop", "email", "poc_work", "note"},
    ),
    "gap_severities": (GAP_SEVERITIES, {"deal_breaker", "deal_challenge", "nice_to_have"}),
    "gap_statuses": (GAP_STATUSES, {"open", "planned", "resolved", "wont_fix"}),
    "deliverable_statuses": (DELIVERABLE_STATUSES, {"open", "done"}),
}
DATE_FORMATS = ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%Y-%m-%d")
MAX_EXTERNAL_ID = 200
MAX_HOURS = Decimal(1000)
MAX_URL = 1000


def string_map(value, what: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidInput(f"settings.{what} must map names to names.")
    return value


def check_http_url(value, what: str) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
        raise InvalidInput(f"settings.{what} must be an http(s) URL.")
    if not urlsplit(value).hostname:
        raise InvalidInput(f"settings.{what} must name a host.")
    return value


def clean_common_settings(settings: dict) -> set[str]:
    """Check the settings every Vivun adapter shares (value maps, record links); their keys."""
    for what, (_defaults, allowed) in VALUE_MAPS.items():
        wrong = set(string_map(settings.get(what), what).values()) - allowed
        if wrong:
            raise InvalidInput(f"settings.{what}: values must be among {sorted(allowed)}.")
    templates = string_map(settings.get("record_urls"), "record_urls")
    if set(templates) - set(RECORDS):
        raise InvalidInput(f"settings.record_urls may only name {', '.join(RECORDS)}.")
    for name, template in templates.items():
        check_http_url(template, f"record_urls.{name}")
        if "{id}" not in template:
            raise InvalidInput(f"settings.record_urls.{name} must contain {{id}}.")
    return {*VALUE_MAPS, "record_urls"}


def text(value) -> str:
    """An API value as the text a CSV cell would hold (None → "", 1.5 → "1.5")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def parse_datetime(value: str) -> datetime:
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


def parse_hours(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        hours = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"SE hours {value!r} is not a number") from None
    if not hours.is_finite() or hours < 0 or hours > MAX_HOURS:
        raise ValueError(f"SE hours {value!r} is out of range (0 to {MAX_HOURS})")
    return int((hours * 60).to_integral_value())


def parse_deal_id(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise ValueError(f"EPOS Opportunity ID {value!r} is not a number")
    return int(value)


class VivunMapper:
    """Rows of one connection: its value maps and record links applied."""

    def __init__(self, settings: dict):
        def extended(what):
            defaults = VALUE_MAPS[what][0]
            given = settings.get(what) or {}
            return defaults | {k.strip().lower(): v for k, v in given.items()}

        self.activity_types = extended("activity_types")
        self.severities = extended("gap_severities")
        self.statuses = extended("gap_statuses")
        self.deliverable_statuses = extended("deliverable_statuses")
        self.record_urls = settings.get("record_urls") or {}

    def url(self, name: str, row: dict, external_id: str) -> str:
        url = row.get("url", "")
        if url:
            # A link the deal page could not open safely is no link.
            return url[:MAX_URL] if url.startswith(("https://", "http://")) else ""
        template = self.record_urls.get(name)  # checked by clean_common_settings
        return template.replace("{id}", quote(external_id, safe=""))[:MAX_URL] if template else ""

    def _common(self, row: dict, what: str) -> tuple[str, str, int | None]:
        external_id = row.get("external_id", "")
        if not external_id:
            raise ValueError(f"no {what} ID")
        if len(external_id) > MAX_EXTERNAL_ID:
            raise ValueError(f"{what} ID is longer than {MAX_EXTERNAL_ID} characters")
        deal_ref = row.get("opportunity_ref", "")
        deal_id = parse_deal_id(row.get("epos_opportunity_id", ""))
        if not deal_ref and deal_id is None:
            raise ValueError("no Opportunity ID")
        return external_id, deal_ref, deal_id

    def activity(self, line, row: dict) -> ActivityRow:
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
            occurred_at=parse_datetime(row.get("occurred_at", "")),
            duration_minutes=parse_hours(row.get("hours", "")),
            summary=summary,
            sa_email=row.get("sa_email", ""),
            url=self.url("activities", row, external_id),
        )

    def product_gap(self, line, row: dict) -> ProductGapRow:
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
            sa_email=row.get("sa_email", ""),
            url=self.url("product_gaps", row, external_id),
        )

    def deliverable(self, line, row: dict) -> DeliverableRow:
        external_id, deal_ref, deal_id = self._common(row, "Deliverable")
        deliverable_type, name = row.get("deliverable_type", ""), row.get("name", "")
        if not deliverable_type:
            raise ValueError("no deliverable type")
        if not name:
            raise ValueError("no deliverable name")
        raw_date = row.get("occurred_at", "")
        occurred_at = parse_datetime(raw_date) if raw_date else None
        raw_status = row.get("status", "")
        if raw_status:
            status = self.deliverable_statuses.get(raw_status.lower())
            if status is None:
                raise ValueError(
                    f"unknown deliverable status {raw_status[:60]!r} "
                    "(map it in settings.deliverable_statuses)"
                )
        else:
            # No status column: a completion date says it is done.
            status = "done" if occurred_at else "open"
        return DeliverableRow(
            line=line,
            external_id=external_id,
            opportunity_ref=deal_ref,
            epos_opportunity_id=deal_id,
            deliverable_type=deliverable_type[:100],
            name=name[:200],
            status=status,
            occurred_at=occurred_at,
            sa_email=row.get("sa_email", ""),
            url=self.url("deliverables", row, external_id),
        )

    def row(self, name: str, line, fields: dict):
        """The EPOS row of a record of kind `name` (ValueError when a value cannot be read)."""
        if name == "activities":
            return self.activity(line, fields)
        if name == "product_gaps":
            return self.product_gap(line, fields)
        return self.deliverable(line, fields)
