"""The only module of the sync jobs that talks HTTP: Salesforce (through `simple-salesforce`) and
Vivun's HTTP export (through `requests`). Every request has a timeout, and every failure comes
out as the port's errors: `TransientSourceError` for what is worth retrying later (the network,
5xx, 429 and Salesforce's request limit), `SourceError` for what an admin must fix (401, 403,
404, a refused login, a body that is not what was asked for).
"""

import email.utils
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import requests
from django.conf import settings
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from integrations.sync.ports import SourceError, TransientSourceError

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10


class TimeoutSession(requests.Session):
    """A session whose every request has a timeout (simple-salesforce passes none)."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault(
            "timeout",
            (min(CONNECT_TIMEOUT, settings.EPOS_SYNC_TIMEOUT), settings.EPOS_SYNC_TIMEOUT),
        )
        return super().request(method, url, **kwargs)


def _network_error(system: str, error: Exception) -> TransientSourceError:
    kind = (
        "did not answer in time" if isinstance(error, requests.Timeout) else "could not be reached"
    )
    return TransientSourceError(
        f"{system} {kind} ({type(error).__name__}); the run will be retried."
    )


def _error_text(content) -> str:
    """The message of a Salesforce or Vivun error body, short."""
    if isinstance(content, list) and content and isinstance(content[0], dict):
        content = content[0]
    if isinstance(content, dict):
        code = content.get("errorCode") or content.get("error") or ""
        message = content.get("message") or content.get("error_description") or ""
        return f"{code}: {message}".strip(": ")[:300]
    return str(content or "")[:300]


# --- Salesforce -------------------------------------------------------------------------------


class SalesforceClient:
    """A Salesforce org reached with a connected app's client-credentials flow.

    `login_url` is the org's My Domain (https://acme.my.salesforce.com) or login.salesforce.com.
    The token is asked for once per run and again once if Salesforce says it expired.
    """

    SYSTEM = "Salesforce"

    def __init__(self, *, login_url: str, client_id: str, client_secret: str, api_version: str):
        self.login_url = login_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_version = api_version
        self.session = TimeoutSession()
        self._api: Salesforce | None = None
        self.instance_url = ""

    def _login(self) -> Salesforce:
        if not self.client_id or not self.client_secret:
            raise SourceError("Salesforce needs the connected app's client id and secret.")
        try:
            response = self.session.post(
                f"{self.login_url}/services/oauth2/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                },
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as error:
            raise _network_error(self.SYSTEM, error) from error
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientSourceError(
                f"Salesforce's login answered {response.status_code}; the run will be retried."
            )
        body = _json(response, self.SYSTEM)
        if response.status_code != 200 or not body.get("access_token"):
            raise SourceError(
                f"Salesforce refused the login ({response.status_code} {_error_text(body)}): "
                "check the connected app's client id and secret and that its client-credentials "
                "flow is enabled with a run-as user."
            )
        self.instance_url = (body.get("instance_url") or self.login_url).rstrip("/")
        return Salesforce(
            instance_url=self.instance_url,
            session_id=body["access_token"],
            version=self.api_version,
            session=self.session,
        )

    @property
    def api(self) -> Salesforce:
        if self._api is None:
            self._api = self._login()
        return self._api

    def _call(self, what: str, call):
        """`call(api)`, with Salesforce's failures translated; an expired session logs in again
        once."""
        for attempt in range(2):
            try:
                return call(self.api)
            except SalesforceExpiredSession as error:
                if attempt == 0:
                    self._api = None
                    continue
                raise SourceError(
                    f"Salesforce answered 401 to {what} ({_error_text(error.content)}): "
                    "the credentials are no longer accepted; the connection needs attention."
                ) from error
            except SalesforceError as error:
                raise self._translated(what, error) from error
            except requests.RequestException as error:
                raise _network_error(self.SYSTEM, error) from error
            except ValueError as error:  # a body that is not JSON
                raise SourceError(f"Salesforce answered {what} with something not JSON.") from error
        raise AssertionError("unreachable")

    @staticmethod
    def _translated(what: str, error: SalesforceError) -> SourceError:
        text = _error_text(error.content)
        if error.status == 429 or error.status >= 500 or "REQUEST_LIMIT_EXCEEDED" in text:
            return TransientSourceError(
                f"Salesforce answered {error.status} to {what} ({text}); the run will be retried."
            )
        if isinstance(error, SalesforceRefusedRequest):
            return SourceError(
                f"Salesforce refused {what} ({text}): check the run-as user's access."
            )
        if isinstance(error, SalesforceResourceNotFound):
            return SourceError(f"Salesforce has no {what} ({text}).")
        if isinstance(error, SalesforceMalformedRequest):
            return SourceError(f"Salesforce could not run {what} ({text}).")
        return SourceError(f"Salesforce answered {error.status} to {what} ({text}).")

    def describe(self, object_name: str) -> dict:
        return self._call(
            f"the description of {object_name}",
            lambda api: getattr(api, object_name).describe(),
        )

    def query(self, soql: str, what: str) -> Iterator[dict]:
        """Every record of `soql`, page by page (Salesforce's nextRecordsUrl), never all held."""
        page = self._call(what, lambda api: api.query(soql))
        while True:
            yield from page.get("records", [])
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            next_url = page["nextRecordsUrl"]
            page = self._call(what, lambda api, url=next_url: api.query_more(url, True))

    def record_url(self, object_name: str, record_id: str) -> str:
        return f"{self.instance_url}/lightning/r/{object_name}/{record_id}/view"


# --- Vivun's HTTP export ----------------------------------------------------------------------


def _json(response: requests.Response, system: str):
    try:
        return response.json()
    except ValueError as error:
        raise SourceError(
            f"{system} answered {response.status_code} with something not JSON."
        ) from error


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class VivunExportClient:
    """Vivun's export endpoint: `GET {base_url}/{export}?modified_since=…&page_size=…` with a
    bearer token, answering `{"data": [...], "next": <url or null>}` (or a `Link: rel="next"`
    header). A 429 is waited out in place when its Retry-After is short."""

    SYSTEM = "Vivun"

    def __init__(self, *, base_url: str, token: str, page_size: int = 500):
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.session = TimeoutSession()
        self.session.headers.update(
            {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        self.sleep = time.sleep  # tests look at the waits instead of sitting through them
        self.waits: list[float] = []

    def _get(self, url: str, params: dict | None, what: str) -> requests.Response:
        waited = 0
        while True:
            try:
                response = self.session.get(url, params=params)
            except requests.RequestException as error:
                raise _network_error(self.SYSTEM, error) from error
            if response.status_code != 429:
                return self._checked(response, what)
            delay = retry_after_seconds(response.headers.get("Retry-After"))
            if (
                delay is None
                or delay > settings.EPOS_SYNC_MAX_RETRY_AFTER
                or waited >= settings.EPOS_SYNC_MAX_WAITS
            ):
                asked = "" if delay is None else f" (Retry-After {delay:.0f} s)"
                raise TransientSourceError(
                    f"Vivun answered 429 Too Many Requests to {what}{asked}; "
                    "the run will be retried."
                )
            logger.info("Vivun asked to wait %.1f s before %s", delay, what)
            self.waits.append(delay)
            self.sleep(delay)
            waited += 1

    def _checked(self, response: requests.Response, what: str) -> requests.Response:
        status = response.status_code
        if status >= 500:
            raise TransientSourceError(
                f"Vivun answered {status} to {what}; the run will be retried."
            )
        if status == 401:
            raise SourceError(
                f"Vivun answered 401 to {what}: the API token is not accepted; "
                "the connection needs attention."
            )
        if status == 403:
            raise SourceError(f"Vivun answered 403 to {what}: the token may not read this export.")
        if status == 404:
            raise SourceError(f"Vivun has no {what} at {response.url} (404): check the base URL.")
        if status != 200:
            raise SourceError(f"Vivun answered {status} to {what}.")
        return response

    def pages(self, export: str, params: dict) -> Iterator[list[dict]]:
        """The records of one export, a page at a time, following the next links."""
        url: str | None = f"{self.base_url}/{export}"
        query: dict | None = {**params, "page_size": self.page_size}
        seen = set()
        while url:
            if url in seen:
                raise SourceError(f"Vivun's {export} export links back to a page it gave before.")
            seen.add(url)
            response = self._get(url, query, f"the {export} export")
            body = _json(response, self.SYSTEM)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise SourceError(f"Vivun's {export} export answered without a data list.")
            yield body["data"]
            url = body.get("next") or response.links.get("next", {}).get("url")
            query = None  # the next link carries the query

    def probe(self, export: str) -> None:
        """One small page of `export`: raises what a run would."""
        self._get(f"{self.base_url}/{export}", {"page_size": 1}, f"the {export} export")
