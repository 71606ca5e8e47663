"""Google Calendar: the SAs' meetings become activities on the deals they are about.

A service account reads each SA's calendar: as the SA through domain-wide delegation (the
default), or directly when the calendar is shared with it. Settings::

    {"calendars": ["sa1@example.com", …],  # optional: default every active SA with an email
     "delegation": true,                   # read each calendar as its owner
     "since_days": 90,                     # how far back a full sync reaches
     "internal_domains": ["example.com"]}  # never a customer (the owners' domains always)

Each calendar syncs incrementally: the first run lists its events (from `since_days` back) and
keeps the `nextSyncToken` Google hands out at the end; the next runs ask for what changed since
that token. A token Google no longer knows (410 Gone) means listing everything again; after a
full listing, activities of events that were not listed are removed. The cursor is the JSON
`{calendar: sync token}`, stored only when the whole run committed.

An event belongs to a deal when its title or description carries a `[EPOS-<id>]` tag, or else
when one of its attendees' email domains is the `domain` of an account with exactly one deal
that was open at the meeting's time (the calendar owner's own deals first). The owner (the
user with the calendar's email) is the activity's SA. Moved events update their activity;
cancelled ones, ones the owner declined and ones no longer linked to a deal remove it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from epos.lib.errors import InvalidInput
from epos.lib.roles import SA
from integrations.sync import google_client
from integrations.sync.google_client import GoogleClient, SyncTokenExpired
from integrations.sync.ports import RowProblem, SourceError, TransientSourceError

SCOPES = ["https://www.googleapis.com/auth/calendar.readonly"]
PAGE_SIZE = 2500  # the most events.list gives at once
DEFAULT_SINCE_DAYS = 90
MAX_CALENDARS = 500
TAG = re.compile(r"\[EPOS-(\d{1,18})\]", re.IGNORECASE)
_DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9-]+(\.[a-z0-9-]+)+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Words of a title that say what kind of meeting it was (the default is a meeting).
KIND_WORDS = (
    (re.compile(r"\bdemo(nstration)?s?\b", re.IGNORECASE), "demo"),
    (re.compile(r"\bworkshops?\b", re.IGNORECASE), "workshop"),
    (re.compile(r"\b(poc|proof of concept)\b", re.IGNORECASE), "poc_work"),
    (re.compile(r"\bcall\b", re.IGNORECASE), "call"),
)
SETTINGS_KEYS = {"calendars", "delegation", "since_days", "internal_domains", "api_endpoint"}


def clean_settings(settings: dict) -> dict:
    if not isinstance(settings, dict):
        raise InvalidInput("settings must be an object.")
    unknown = set(settings) - SETTINGS_KEYS
    if unknown:
        raise InvalidInput(f"Unknown settings {sorted(unknown)}.")
    cleaned: dict = {}
    calendars = settings.get("calendars") or []
    if not isinstance(calendars, list) or not all(
        isinstance(value, str) and _EMAIL.match(value.strip()) for value in calendars
    ):
        raise InvalidInput("settings.calendars must list email addresses.")
    if len(calendars) > MAX_CALENDARS:
        raise InvalidInput(f"settings.calendars may list at most {MAX_CALENDARS} calendars.")
    if calendars:
        cleaned["calendars"] = list(dict.fromkeys(value.strip().lower() for value in calendars))
    delegation = settings.get("delegation", True)
    if not isinstance(delegation, bool):
        raise InvalidInput("settings.delegation must be true or false.")
    cleaned["delegation"] = delegation
    since = settings.get("since_days", DEFAULT_SINCE_DAYS)
    if isinstance(since, bool) or not isinstance(since, int) or not 1 <= since <= 3650:
        raise InvalidInput("settings.since_days must be a number of days from 1 to 3650.")
    cleaned["since_days"] = since
    internal = settings.get("internal_domains") or []
    if not isinstance(internal, list) or not all(
        isinstance(value, str) and _DOMAIN.match(value.strip().lower()) for value in internal
    ):
        raise InvalidInput("settings.internal_domains must list domains like example.com.")
    if internal:
        cleaned["internal_domains"] = sorted({value.strip().lower() for value in internal})
    try:
        endpoint = google_client.clean_endpoint(settings.get("api_endpoint"))
    except ValueError as error:
        raise InvalidInput(str(error)) from error
    if endpoint:
        cleaned["api_endpoint"] = endpoint
    return cleaned


# --- what the source yields -------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarEvent:
    line: str  # how a run's report names it
    calendar: str
    owner_id: int
    event_id: str
    cancelled: bool  # cancelled, or declined by the calendar's owner: no activity
    title: str = ""
    tags: tuple[int, ...] = ()
    domains: tuple[str, ...] = ()
    start: datetime | None = None
    duration_minutes: int | None = None
    kind: str = "meeting"


@dataclass(frozen=True)
class CalendarListed:
    """Every live event of the calendar was yielded above (a full sync): an activity of an
    event that was not is gone from Google."""

    calendar: str
    owner_id: int


def _when(moment: dict | None) -> tuple[datetime | None, bool]:
    """(time, all-day) of an event's start or end."""
    if not moment:
        return None, False
    if moment.get("dateTime"):
        value = datetime.fromisoformat(moment["dateTime"].replace("Z", "+00:00"))
        return (value if value.tzinfo else value.replace(tzinfo=UTC)), False
    if moment.get("date"):
        day = date.fromisoformat(moment["date"])
        return timezone.make_aware(datetime(day.year, day.month, day.day)), True
    return None, False


def event_kind(title: str) -> str:
    for pattern, kind in KIND_WORDS:
        if pattern.search(title):
            return kind
    return "meeting"


def map_event(
    item: dict, *, calendar: str, owner_id: int, internal: set[str]
) -> CalendarEvent | RowProblem:
    """One item of events.list as the writer needs it (pure)."""
    event_id = str(item.get("id", ""))
    title = str(item.get("summary", ""))[:500]
    line = f"{calendar}: “{title[:80]}”" if title else f"{calendar}: event {event_id[:60]}"
    if not event_id:
        return RowProblem(line, "an event without an id")
    declined = any(
        attendee.get("self") and attendee.get("responseStatus") == "declined"
        for attendee in item.get("attendees") or []
    )
    if item.get("status") == "cancelled" or declined:
        return CalendarEvent(line, calendar, owner_id, event_id, cancelled=True, title=title)
    try:
        start, all_day = _when(item.get("start"))
        end, _ = _when(item.get("end"))
    except ValueError as error:
        return RowProblem(line, f"its time cannot be read ({error})")
    if start is None:
        return RowProblem(line, "an event without a start time")
    duration = None
    if end is not None and not all_day:
        minutes = int((end - start).total_seconds() // 60)
        duration = minutes if 0 < minutes <= 24 * 60 else None
    text = f"{title}\n{item.get('description') or ''}"
    tags = tuple(dict.fromkeys(int(found) for found in TAG.findall(text)))
    domains = []
    for attendee in item.get("attendees") or []:
        if attendee.get("resource"):
            continue  # a meeting room
        domain = str(attendee.get("email", "")).strip().lower().rpartition("@")[2]
        if domain and domain not in internal and domain not in domains:
            domains.append(domain)
    return CalendarEvent(
        line=line,
        calendar=calendar,
        owner_id=owner_id,
        event_id=event_id,
        cancelled=False,
        title=title,
        tags=tags,
        domains=tuple(domains),
        start=start,
        duration_minutes=duration,
        kind=event_kind(title),
    )


class CalendarSource:
    """The SAs' calendars through the service account; the cursor is their sync tokens."""

    def __init__(self, settings: dict, credentials: dict):
        self.settings = settings
        self.credentials = credentials
        self.account_email = google_client.check_service_account(credentials)
        self.tokens: dict[str, str] = {}
        self._apis: dict[str, object] = {}

    def _api(self, calendar: str):
        subject = calendar if self.settings.get("delegation", True) else ""
        if subject not in self._apis:
            client = GoogleClient(
                self.credentials,
                scopes=SCOPES,
                api_endpoint=self.settings.get("api_endpoint", ""),
                subject=subject,
            )
            self._apis[subject] = (client, client.api("calendar", "v3"))
        return self._apis[subject]

    def calendars(self) -> tuple[list[tuple[str, int]], list[str]]:
        """([(calendar, owner id)], [calendars no single EPOS user has the email of])."""
        users = get_user_model().objects.filter(is_active=True).exclude(email="")
        wanted = self.settings.get("calendars")
        if not wanted:
            users = users.filter(groups__name=SA)
        owners: dict[str, int | None] = {}
        for email, pk in users.values_list("email", "pk").distinct():
            key = email.strip().lower()
            owners[key] = None if key in owners and owners[key] != pk else pk
        names = wanted or sorted(owners)
        found = [(name, owners[name]) for name in names if owners.get(name)]
        return found[:MAX_CALENDARS], [name for name in names if not owners.get(name)]

    def check(self) -> str:
        calendars, unknown = self.calendars()
        if not calendars:
            raise SourceError(
                "No calendar to read: list the SAs' addresses, or give the SAs an email."
            )
        names = []
        for calendar, _owner in calendars[:5]:
            client, api = self._api(calendar)
            found = client.execute(
                api.calendars().get(calendarId=calendar), what=f"the calendar of {calendar}"
            )
            names.append(found.get("summary") or calendar)
        more = f" and {len(calendars) - 5} more" if len(calendars) > 5 else ""
        missing = f" No EPOS user has the email {', '.join(unknown)}." if unknown else ""
        return f"Read the calendars {', '.join(names)}{more}.{missing}"

    def _internal(self, calendars) -> set[str]:
        domains = set(self.settings.get("internal_domains") or [])
        domains.update(calendar.rpartition("@")[2] for calendar, _owner in calendars)
        return domains

    def read(self, cursor: str) -> Iterator:
        try:
            previous = json.loads(cursor) if cursor else {}
        except ValueError:
            previous = {}
        if not isinstance(previous, dict):
            previous = {}
        calendars, unknown = self.calendars()
        for name in unknown:
            yield RowProblem(name, "no EPOS user (or several) has this email; calendar skipped")
        internal = self._internal(calendars)
        refusals: list[SourceError] = []
        for calendar, owner_id in calendars:
            try:
                yield from self._calendar(calendar, owner_id, internal, previous.get(calendar))
            except TransientSourceError:
                raise
            except SourceError as error:
                # One calendar Google will not open (its owner left, no delegation for them):
                # reported, its token kept, the others go on.
                refusals.append(error)
                if previous.get(calendar):
                    self.tokens[calendar] = previous[calendar]
                yield RowProblem(calendar, str(error))
        if calendars and len(refusals) == len(calendars):
            # Not one calendar opens: the key or the delegation is wrong, not a calendar.
            raise refusals[0]

    def _calendar(self, calendar: str, owner_id: int, internal: set[str], token: str | None):
        if token:
            try:
                yield from self._events(calendar, owner_id, internal, sync_token=token)
                return
            except SyncTokenExpired:
                pass  # Google forgot the token: list everything again
        yield from self._events(calendar, owner_id, internal, sync_token="")
        yield CalendarListed(calendar, owner_id)

    def _events(self, calendar: str, owner_id: int, internal: set[str], *, sync_token: str):
        client, api = self._api(calendar)
        params = {"calendarId": calendar, "singleEvents": True, "maxResults": PAGE_SIZE}
        if sync_token:
            params["syncToken"] = sync_token
        else:
            since = timezone.now() - timedelta(days=self.settings.get("since_days", 90))
            params["timeMin"] = since.isoformat()
        request = api.events().list(**params)
        what = f"the calendar of {calendar}"
        while request is not None:
            page = client.execute(request, what=what)
            for item in page.get("items") or []:
                yield map_event(item, calendar=calendar, owner_id=owner_id, internal=internal)
            if page.get("nextSyncToken"):
                self.tokens[calendar] = page["nextSyncToken"]
            request = api.events().list_next(request, page)

    def cursor_after(self) -> str:
        return json.dumps(self.tokens, sort_keys=True)
