"""The one module that talks to Google (Drive and Calendar): the single point to fake.

Google's own libraries do the work: google-auth signs the service account's token request
(a JWT with the account's private key, optionally on behalf of a Workspace user: domain-wide
delegation), google-api-python-client builds each API from the discovery document it ships
(`static_discovery=True`: building needs no network). Every request has a timeout.

Failures come out in the sync port's words (integrations.sync.ports):
- a key Google refuses, a 401, a 403 that is not a rate limit, a 404 or a 400 is a
  `SourceError`: the connection needs attention and nothing of the run is kept;
- a 429, a 5xx, a rate-limit 403 or a network failure is tried again here a few times
  (honouring `Retry-After` when it is short), then raised as `TransientSourceError`, which the
  task retries later;
- a 410 is `SyncTokenExpired`: the calendar's sync token is too old, a full sync is due.
"""

from __future__ import annotations

import json
import logging
import random
import time
from urllib.parse import urlsplit

import google_auth_httplib2
import httplib2
from google.auth import exceptions as auth_exceptions
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from integrations.sync.ports import SourceError, TransientSourceError

logger = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://www.googleapis.com/"
SERVICE_PATHS = {("drive", "v3"): "drive/v3/", ("calendar", "v3"): "calendar/v3/"}
TIMEOUT = 30  # seconds, per HTTP request
ATTEMPTS = 4  # per request, for the transient failures
MAX_WAIT = 30  # seconds: a longer Retry-After ends the run, and the task comes back later
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
SERVICE_ACCOUNT_KEYS = ("type", "client_email", "private_key", "token_uri")

# Monkeypatched by the tests to record the waits instead of sleeping through them.
sleep = time.sleep


class SyncTokenExpired(Exception):
    """Google answered 410 Gone to a sync token: list everything again."""


def check_service_account(credentials: dict) -> str:
    """The account's email when `credentials` is a service-account key; SourceError if not."""
    if not credentials:
        raise SourceError("No service-account key is stored; paste the key's JSON.")
    missing = [key for key in SERVICE_ACCOUNT_KEYS if not credentials.get(key)]
    if missing or credentials.get("type") != "service_account":
        raise SourceError(
            "The credentials are not a Google service-account key (a JSON file with "
            f"“type”: “service_account”); missing: {', '.join(missing) or 'type'}."
        )
    return credentials["client_email"]


def clean_endpoint(value) -> str:
    """An optional API root (a private endpoint such as restricted.googleapis.com)."""
    if value in (None, ""):
        return ""
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("settings.api_endpoint must be an http(s) URL.")
    return value if value.endswith("/") else value + "/"


def _reason(error: HttpError) -> str:
    try:
        body = json.loads(error.content or b"{}")
        details = body.get("error", {})
        reasons = [item.get("reason", "") for item in details.get("errors", [])]
        return next((reason for reason in reasons if reason), details.get("status", ""))
    except (ValueError, AttributeError):
        return ""


def _message(error: HttpError) -> str:
    try:
        return str(json.loads(error.content or b"{}").get("error", {}).get("message", ""))[:200]
    except (ValueError, AttributeError):
        return ""


def _retry_after(error: HttpError) -> float | None:
    value = (error.resp or {}).get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class GoogleClient:
    """A service account's authorised access to one Google API, as `subject` when given."""

    def __init__(
        self,
        credentials: dict,
        *,
        scopes: list[str],
        api_endpoint: str = "",
        subject: str = "",
    ):
        self.account_email = check_service_account(credentials)
        try:
            signed = service_account.Credentials.from_service_account_info(
                credentials, scopes=scopes
            )
        except (ValueError, TypeError) as error:
            raise SourceError(f"The service-account key cannot be read: {error}.") from error
        self.credentials = signed.with_subject(subject) if subject else signed
        self.subject = subject
        self.api_endpoint = api_endpoint or DEFAULT_ENDPOINT

    def api(self, name: str, version: str):
        http = google_auth_httplib2.AuthorizedHttp(
            self.credentials, http=httplib2.Http(timeout=TIMEOUT)
        )
        return build(
            name,
            version,
            http=http,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": self.api_endpoint + SERVICE_PATHS[(name, version)]},
        )

    def execute(self, request, *, what: str, attempts: int = ATTEMPTS):
        """Run one API request; `what` names it in error messages ("the calendar of ...").

        `attempts=1` for a request that is not safe to repeat blindly (a create)."""
        for attempt in range(1, attempts + 1):
            try:
                return request.execute(num_retries=0)
            except HttpError as error:
                wait = self._http_error(error, what, attempt == attempts)
            except auth_exceptions.RefreshError as error:
                if getattr(error, "retryable", False) and attempt < attempts:
                    wait = None
                elif getattr(error, "retryable", False):
                    raise TransientSourceError(
                        f"Google's token service is unavailable ({error}); trying again later."
                    ) from error
                else:
                    raise SourceError(self._refused(error)) from error
            except (auth_exceptions.TransportError, httplib2.HttpLib2Error, OSError) as error:
                if attempt == attempts:
                    raise TransientSourceError(
                        f"Could not reach Google for {what}: {error}; trying again later."
                    ) from error
                wait = None
            if wait is None:
                wait = min(MAX_WAIT, 2 ** (attempt - 1) + random.random())
            logger.info("Google %s: attempt %s failed, waiting %.1fs", what, attempt, wait)
            sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _refused(self, error) -> str:
        text = str(error.args[0] if error.args else error)
        who = f" on behalf of {self.subject}" if self.subject else ""
        hint = (
            " Check that domain-wide delegation grants this account's client id the scopes."
            if self.subject and "unauthorized_client" in text
            else " Check the key: it may have been deleted or rotated."
        )
        return f"Google refused the service account {self.account_email}{who}: {text}.{hint}"

    def _http_error(self, error: HttpError, what: str, last: bool) -> float | None:
        """Raise for what is not worth repeating; the wait before the next attempt otherwise."""
        status = error.resp.status
        reason = _reason(error)
        transient = status == 429 or status >= 500 or reason in RATE_LIMIT_REASONS
        if transient:
            retry_after = _retry_after(error)
            if last or (retry_after is not None and retry_after > MAX_WAIT):
                later = f" (it asked to wait {retry_after:g}s)" if retry_after else ""
                busy = TransientSourceError(
                    f"Google is busy answering for {what}: {status}{later}; trying again later."
                )
                busy.retry_after = retry_after
                raise busy from error
            return retry_after
        if status == 410:
            raise SyncTokenExpired(what) from error
        detail = _message(error)
        detail = f" ({detail})" if detail else ""
        if status == 401:
            raise SourceError(
                f"Google did not accept the service account {self.account_email}'s token for "
                f"{what}: 401{detail}."
            ) from error
        if status in (403, 404):
            raise SourceError(
                f"The service account {self.account_email} cannot open {what}: {status}{detail}."
                " Share it with the account (or grant domain-wide delegation) and test again."
            ) from error
        raise SourceError(f"Google refused the request for {what}: {status}{detail}.") from error
