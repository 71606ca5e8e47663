"""A fake Google on loopback (pytest-httpserver) for the real client libraries.

It answers what google-auth and google-api-python-client send, the way Google does:
- the OAuth token endpoint checks the service account's signed JWT against the public key it
  was told (a key it does not know is `invalid_grant`, a subject without domain-wide delegation
  is `unauthorized_client`) and hands out bearer tokens the APIs then require (401 otherwise);
- Drive v3: shared drives, files.get / list (the `appProperties has {…}` search, `orderBy`,
  `nextPageToken`, and Drive's habit of answering a search with an empty page first), create
  and copy, all requiring `supportsAllDrives` for shared-drive files (404 otherwise);
- Calendar v3: calendars.get and events.list with `maxResults` pages, `timeMin`, `syncToken`
  (refused together with `timeMin`, 410 once expired), cancelled events in incremental syncs;
- faults queued per path: 429 with Retry-After, 5xx, 401, 403 rate limits, and "did the work,
  then failed" (the answer was lost).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug import Response

FOLDER_MIME = "application/vnd.google-apps.folder"
DOC_MIME = "application/vnd.google-apps.document"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
APP_PROPERTY = re.compile(r"appProperties has \{ key='([^']*)' and value='([^']*)' \}")


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_info(key, token_uri: str, email="epos-sync@epos-test.iam.gserviceaccount.com"):
    """A service-account key file's JSON, as Google Cloud gives it."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "epos-test",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": email,
        "client_id": "104242424242424242424",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _json(data, status=200, headers=None) -> Response:
    return Response(
        json.dumps(data), status=status, headers=headers, content_type="application/json"
    )


def _error(status: int, message: str, reason: str = "", headers=None) -> Response:
    errors = [{"domain": "global", "reason": reason, "message": message}] if reason else []
    body = {"error": {"code": status, "message": message, "errors": errors}}
    return _json(body, status, headers)


@dataclass
class Fault:
    path: str  # a substring of the request path
    status: int
    method: str = ""
    headers: dict = field(default_factory=dict)
    reason: str = ""
    times: int = 1
    after_work: bool = False  # do what was asked, then answer the error (a lost answer)


class FakeGoogle:
    def __init__(self, server, key):
        self.server = server
        self._key = key
        self.public_key = key.public_key()
        self.token_uri = server.url_for("/token")
        self.api_endpoint = server.url_for("/")
        self.tokens: dict[str, str] = {}  # access token → subject ("" for the account itself)
        self.delegated: set[str] = set()  # subjects domain-wide delegation allows
        self.token_requests: list[dict] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of API calls
        self.faults: list[Fault] = []
        self.reject_tokens = False  # every API call answers 401
        self._ids = itertools.count(1)
        self._clock = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        # Drive
        self.drives: dict[str, str] = {}  # id → name
        self.files: dict[str, dict] = {}
        self.empty_first_page = False
        # Calendar
        self.calendars: dict[str, dict[str, dict]] = {}  # calendar → event id → event
        self.shared_calendars: set[str] = set()  # readable by the account itself
        self.changes = 0
        self.valid_tokens: dict[str, tuple[str, int]] = {}  # sync token → (calendar, change)
        server.expect_request("/token", method="POST").respond_with_handler(self._token)
        server.expect_request(re.compile(r"^/(drive|calendar)/v3/.*")).respond_with_handler(
            self._api
        )

    def credentials(self, key=None, email="epos-sync@epos-test.iam.gserviceaccount.com"):
        """The service-account key file's JSON (of another key: one Google does not know)."""
        return service_account_info(key or self._key, self.token_uri, email)

    # --- faults -------------------------------------------------------------------------------

    def fail(self, path: str, status: int, **fields) -> Fault:
        fault = Fault(path, status, **fields)
        self.faults.append(fault)
        return fault

    def _fault(self, request) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.path in request.path:
                if fault.method and fault.method != request.method:
                    continue
                fault.times -= 1
                return fault
        return None

    @staticmethod
    def _fault_response(fault: Fault) -> Response:
        messages = {
            401: ("Request had invalid authentication credentials.", "authError"),
            403: ("User Rate Limit Exceeded.", fault.reason or "userRateLimitExceeded"),
            429: ("Rate Limit Exceeded", "rateLimitExceeded"),
        }
        message, reason = messages.get(fault.status, ("Backend Error", "backendError"))
        return _error(fault.status, message, fault.reason or reason, fault.headers)

    # --- OAuth --------------------------------------------------------------------------------

    def _token(self, request):
        form = request.form
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return _json({"error": "unsupported_grant_type"}, 400)
        fault = self._fault(request)
        if fault is not None:
            return _json({"error": "internal_failure"}, fault.status)
        header, payload, signature = form.get("assertion", "..").split(".")
        try:
            self.public_key.verify(
                _b64decode(signature),
                f"{header}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:  # noqa: BLE001 - any bad signature is the same answer
            return _json(
                {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}, 400
            )
        claims = json.loads(_b64decode(payload))
        self.token_requests.append(claims)
        # google-auth signs for Google's own token endpoint, whatever token_uri says.
        if claims.get("aud") not in (GOOGLE_TOKEN_AUDIENCE, self.token_uri):
            return _json({"error": "invalid_grant", "error_description": "Bad audience"}, 400)
        subject = claims.get("sub", "")
        if subject and subject not in self.delegated:
            return _json(
                {
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to retrieve access tokens "
                    "using this method, or client not authorized for any of the scopes "
                    "requested.",
                },
                401,
            )
        token = f"ya29.fake-{next(self._ids)}"
        self.tokens[token] = subject
        return _json({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    # --- the APIs -----------------------------------------------------------------------------

    def _api(self, request):
        self.requests.append((request.method, request.path))
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if self.reject_tokens or token not in self.tokens:
            return _error(401, "Request had invalid authentication credentials.", "authError")
        fault = self._fault(request)
        if fault is not None and not fault.after_work:
            return self._fault_response(fault)
        subject = self.tokens[token]
        if request.path.startswith("/drive/"):
            response = self._drive(request, request.path.removeprefix("/drive/v3/"))
        else:
            response = self._calendar(request, subject, request.path.removeprefix("/calendar/v3/"))
        return self._fault_response(fault) if fault is not None else response

    def _now(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.isoformat().replace("+00:00", "Z")

    # Drive

    def add_drive(self, drive_id: str, name: str) -> None:
        self.drives[drive_id] = name

    def add_file(self, name: str, *, mime=DOC_MIME, parents=(), drive_id="", file_id="", **extra):
        file_id = file_id or f"1{next(self._ids):09d}FakeFileId"
        kind = "drive/folders" if mime == FOLDER_MIME else "document/d"
        link = (
            f"https://drive.google.com/{kind}/{file_id}"
            if mime == FOLDER_MIME
            else f"https://docs.google.com/{kind}/{file_id}/edit?usp=drivesdk"
        )
        self.files[file_id] = {
            "id": file_id,
            "name": name,
            "mimeType": mime,
            "parents": list(parents),
            "driveId": drive_id,
            "appProperties": {},
            "trashed": False,
            "createdTime": self._now(),
            "webViewLink": link,
            **extra,
        }
        return self.files[file_id]

    def live_files(self, **app_properties) -> list[dict]:
        return [
            item
            for item in self.files.values()
            if not item["trashed"]
            and all(item["appProperties"].get(k) == v for k, v in app_properties.items())
        ]

    def _shared(self, request) -> bool:
        return request.args.get("supportsAllDrives") == "true"

    def _fields(self, item: dict) -> dict:
        return {key: item[key] for key in ("id", "name", "mimeType", "webViewLink", "createdTime")}

    def _drive(self, request, path):
        if path.startswith("drives/"):
            drive_id = unquote(path.removeprefix("drives/"))
            if drive_id not in self.drives:
                return _error(404, f"Shared drive not found: {drive_id}", "notFound")
            return _json({"id": drive_id, "name": self.drives[drive_id]})
        if path == "files" and request.method == "GET":
            return self._list_files(request)
        if path == "files" and request.method == "POST":
            return self._create(request, json.loads(request.data or b"{}"))
        match = re.fullmatch(r"files/([^/]+)(/copy)?", path)
        if not match:
            return _error(404, "Not Found", "notFound")
        source = self.files.get(unquote(match.group(1)))
        if source is None or (source["driveId"] and not self._shared(request)):
            return _error(404, f"File not found: {match.group(1)}.", "notFound")
        if match.group(2) and request.method == "POST":
            body = json.loads(request.data or b"{}")
            return self._create(request, {"mimeType": source["mimeType"], **body})
        return _json(self._fields(source))

    def _create(self, request, body: dict):
        parents = body.get("parents") or []
        drive_ids = {self.files[p]["driveId"] for p in parents if p in self.files}
        drive_ids |= {p for p in parents if p in self.drives}
        if not parents or not drive_ids:
            return _error(404, f"File not found: {parents}.", "notFound")
        if not self._shared(request):
            return _error(404, f"File not found: {parents[0]}.", "notFound")
        created = self.add_file(
            body.get("name", "Untitled"),
            mime=body.get("mimeType", DOC_MIME),
            parents=parents,
            drive_id=drive_ids.pop(),
        )
        created["appProperties"] = dict(body.get("appProperties") or {})
        return _json(self._fields(created))

    def _list_files(self, request):
        args = request.args
        if args.get("corpora") == "drive" and not (
            args.get("driveId")
            and args.get("includeItemsFromAllDrives") == "true"
            and self._shared(request)
        ):
            return _error(
                403,
                "The includeItemsFromAllDrives parameter must be set.",
                "teamDrivesParameterRequired",
            )
        query = args.get("q", "")
        wanted = dict(APP_PROPERTY.findall(query))
        rows = [
            item
            for item in self.files.values()
            if item["driveId"] == args.get("driveId")
            and all(item["appProperties"].get(k) == v for k, v in wanted.items())
            and not ("trashed = false" in query and item["trashed"])
        ]
        if args.get("orderBy") == "createdTime":
            rows.sort(key=lambda item: item["createdTime"])
        size = int(args.get("pageSize", 100))
        token = args.get("pageToken", "")
        if self.empty_first_page and not token:
            return _json({"files": [], "nextPageToken": "page-0"})
        start = int(token.removeprefix("page-") or 0) if token else 0
        page = rows[start : start + size]
        body = {"files": [self._fields(item) for item in page]}
        if start + size < len(rows):
            body["nextPageToken"] = f"page-{start + size}"
        return _json(body)

    # Calendar

    def add_event(self, calendar: str, event_id: str = "", **event) -> dict:
        self.changes += 1
        event_id = event_id or f"ev{next(self._ids)}"
        stored = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "updated": self._now(),
            "_change": self.changes,
            **event,
        }
        self.calendars.setdefault(calendar, {})[event_id] = stored
        return stored

    def change_event(self, calendar: str, event_id: str, **changes) -> dict:
        self.changes += 1
        event = self.calendars[calendar][event_id]
        event.update(changes, updated=self._now(), _change=self.changes)
        return event

    def cancel_event(self, calendar: str, event_id: str) -> None:
        self.change_event(calendar, event_id, status="cancelled")

    def expire_sync_tokens(self) -> None:
        self.valid_tokens.clear()

    def _calendar(self, request, subject: str, path: str):
        match = re.fullmatch(r"calendars/([^/]+)(/events)?", path)
        if not match:
            return _error(404, "Not Found", "notFound")
        calendar = unquote(match.group(1))
        readable = subject == calendar if subject else calendar in self.shared_calendars
        if calendar not in self.calendars or not readable:
            return _error(404, "Not Found", "notFound")
        if not match.group(2):
            return _json({"kind": "calendar#calendar", "id": calendar, "summary": calendar})
        return self._events(request, calendar)

    def _events(self, request, calendar: str):
        args = request.args
        sync_token = args.get("syncToken")
        if sync_token and (args.get("timeMin") or args.get("orderBy") or args.get("q")):
            return _error(400, "Sync token cannot be used with other query parameters.", "invalid")
        events = sorted(self.calendars[calendar].values(), key=lambda event: event["_change"])
        if sync_token:
            if self.valid_tokens.get(sync_token, ("", 0))[0] != calendar:
                return _error(
                    410,
                    "Sync token is no longer valid, a full sync is required.",
                    "fullSyncRequired",
                )
            since = self.valid_tokens[sync_token][1]
            rows = [event for event in events if event["_change"] > since]
        else:
            time_min = args.get("timeMin")
            rows = [
                event
                for event in events
                if event["status"] != "cancelled"
                and (not time_min or _start(event) >= datetime.fromisoformat(time_min))
            ]
        size = min(int(args.get("maxResults", 250)), 2500)
        start = int(args.get("pageToken", "0") or 0)
        page = rows[start : start + size]
        items = [
            {"id": e["id"], "status": "cancelled"}
            if e["status"] == "cancelled"
            else {k: v for k, v in e.items() if not k.startswith("_")}
            for e in page
        ]
        body = {"kind": "calendar#events", "summary": calendar, "items": items}
        if start + size < len(rows):
            body["nextPageToken"] = str(start + size)
        else:
            token = f"CPDAlvWDx{next(self._ids)}"
            self.valid_tokens[token] = (calendar, self.changes)
            body["nextSyncToken"] = token
        return _json(body)


def _start(event: dict) -> datetime:
    start = event.get("start") or {}
    if start.get("dateTime"):
        return datetime.fromisoformat(start["dateTime"].replace("Z", "+00:00"))
    return datetime.fromisoformat(start["date"]).replace(tzinfo=UTC)


def meeting(start: datetime, minutes=60, *, title="Meeting", attendees=(), description=""):
    """An events.list item's fields for a timed meeting."""
    event = {
        "summary": title,
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(minutes=minutes)).isoformat(), "timeZone": "UTC"},
        "attendees": [{"email": email, "responseStatus": "accepted"} for email in attendees],
    }
    if description:
        event["description"] = description
    return event
