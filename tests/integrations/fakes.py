"""Fake Salesforce and Vivun servers on loopback, for the real client libraries to talk to.

They answer as the real APIs do where the sync relies on it: Salesforce's OAuth token endpoint,
`describe`, SOQL `query` with `nextRecordsUrl` pages, 401 INVALID_SESSION_ID, 400 INVALID_FIELD;
Vivun's export pages with `next` links (or a Link header) and bearer tokens. `fail(...)` makes
the next matching request answer an error (429 with Retry-After, 5xx, 401) instead.

Salesforce is only reached over https (simple-salesforce builds https URLs), so its fake
serves TLS with a certificate of a throw-away CA that the test points `requests` at
(REQUESTS_CA_BUNDLE), as production trusts the system's CAs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import ssl
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug import Request, Response

API = "/services/data/v60.0"


def json_response(body, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


# --- TLS -----------------------------------------------------------------------------------------


def make_tls(directory) -> tuple[ssl.SSLContext, str]:
    """A server context for 127.0.0.1/localhost and the path of the CA that signed it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EPOS test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain_path, key_path = directory / "server.pem", directory / "server.key"
    chain_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain_path, key_path)
    return context, str(ca_path)


# --- faults --------------------------------------------------------------------------------------


@dataclass
class Fault:
    where: str
    status: int
    body: object
    headers: dict = field(default_factory=dict)
    times: int = 1


class Faults:
    def __init__(self):
        self.pending: list[Fault] = []
        self.lock = threading.Lock()

    def add(self, where, status, body=None, headers=None, times=1):
        self.pending.append(Fault(where, status, body, headers or {}, times))

    def take(self, where: str) -> Response | None:
        with self.lock:
            for fault in self.pending:
                if fault.where == where:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.pending.remove(fault)
                    return json_response(fault.body, fault.status, fault.headers)
        return None


# --- Salesforce ----------------------------------------------------------------------------------

SOQL = re.compile(
    r"^SELECT (?P<columns>.+) FROM (?P<object>\w+)"
    r"(?: WHERE SystemModstamp >= (?P<since>\S+))? ORDER BY SystemModstamp, Id$"
)
RELATIONSHIPS = {"Owner": "OwnerId", "CreatedBy": "CreatedById"}


def _stamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


class FakeSalesforce:
    """An org with Vivun's objects; `records[object]` are its rows (relationships as dicts)."""

    def __init__(
        self,
        server,
        *,
        client_id="app-id",
        client_secret="app-secret",  # noqa: S107 - the fake org's test credential
        page_size=2,
    ):
        self.server = server
        self.client_id, self.client_secret = client_id, client_secret
        self.page_size = page_size
        self.records: dict[str, list[dict]] = {}
        self.fields: dict[str, set[str]] = {}
        self.tokens: set[str] = set()
        self.logins = 0
        self.soql: list[str] = []
        self.pages_served = 0
        self.locators: dict[str, list[dict]] = {}
        self.faults = Faults()
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    @property
    def login_url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def add_object(self, name: str, fields: set[str]) -> None:
        self.fields[name] = {"Id", "Name", "SystemModstamp", "OwnerId", "CreatedById", *fields}
        self.records.setdefault(name, [])

    def add(self, name: str, **record) -> dict:
        record.setdefault("SystemModstamp", "2026-03-04T10:00:00.000+0000")
        self.records[name].append(record)
        return record

    def expire_sessions(self) -> None:
        self.tokens.clear()

    def fail(self, where: str, status: int, body=None, headers=None, times=1) -> None:
        """The next `where` request ("token", "describe", "query", "query_more") answers this."""
        self.faults.add(where, status, body, headers, times)

    # --- the API --------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == "/services/oauth2/token" and request.method == "POST":
            return self.faults.take("token") or self._token(request)
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
            return json_response(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                401,
            )
        match = re.fullmatch(rf"{API}/sobjects/(\w+)/describe", path)
        if match:
            return self.faults.take("describe") or self._describe(match.group(1))
        if path == f"{API}/query":
            return self.faults.take("query") or self._query(request.args.get("q", ""))
        match = re.fullmatch(rf"{API}/query/([\w-]+)", path)
        if match:
            return self.faults.take("query_more") or self._page(match.group(1))
        return json_response(
            [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], 404
        )

    def _token(self, request: Request) -> Response:
        form = request.form
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return json_response(
                {"error": "invalid_client", "error_description": "invalid client credentials"},
                400,
            )
        self.logins += 1
        token = f"00Dfake!session{self.logins}"
        self.tokens.add(token)
        return json_response(
            {
                "access_token": token,
                "instance_url": self.login_url,
                "id": f"{self.login_url}/id/00Dfake/005fake",
                "token_type": "Bearer",
                "issued_at": "1767225600000",
                "signature": "fake",
            }
        )

    def _describe(self, name: str) -> Response:
        if name not in self.fields:
            return json_response(
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
                404,
            )
        fields = [
            {"name": field_name, "relationshipName": None}
            for field_name in sorted(self.fields[name])
        ]
        for relationship, field_name in RELATIONSHIPS.items():
            fields.append({"name": f"{field_name}Ref", "relationshipName": relationship})
        return json_response({"name": name, "queryable": True, "fields": fields})

    def _query(self, soql: str) -> Response:
        self.soql.append(soql)
        match = SOQL.match(soql)
        if match is None:
            return json_response(
                [{"errorCode": "MALFORMED_QUERY", "message": f"unexpected query: {soql}"}], 400
            )
        name = match.group("object")
        if name not in self.fields:
            return json_response(
                [
                    {
                        "errorCode": "INVALID_TYPE",
                        "message": f"sObject type '{name}' is not supported.",
                    }
                ],
                400,
            )
        columns = [column.strip() for column in match.group("columns").split(",")]
        for column in columns:
            head = column.split(".")[0]
            if ("." in column and head not in RELATIONSHIPS) or (
                "." not in column and column not in self.fields[name]
            ):
                return json_response(
                    [
                        {
                            "errorCode": "INVALID_FIELD",
                            "message": f"No such column '{column}' on entity '{name}'.",
                        }
                    ],
                    400,
                )
        since = _stamp(match.group("since")) if match.group("since") else None
        rows = [
            record
            for record in self.records[name]
            if since is None or _stamp(record["SystemModstamp"]) >= since
        ]
        rows.sort(key=lambda record: (_stamp(record["SystemModstamp"]), record["Id"]))
        selected = [self._select(name, record, columns) for record in rows]
        locator = f"01gFAKE{len(self.locators) + 1}"
        self.locators[locator] = selected
        return self._page(f"{locator}-0", total=len(selected))

    @staticmethod
    def _select(name: str, record: dict, columns: list[str]) -> dict:
        row = {"attributes": {"type": name, "url": f"{API}/sobjects/{name}/{record['Id']}"}}
        for column in columns:
            if "." in column:
                relationship, field_name = column.split(".", 1)
                related = record.get(relationship)
                if related is None:
                    row[relationship] = None
                else:
                    row.setdefault(relationship, {"attributes": {"type": "User"}})
                    row[relationship][field_name] = related.get(field_name)
            else:
                row[column] = record.get(column)
        return row

    def _page(self, locator_offset: str, total: int | None = None) -> Response:
        locator, _, offset = locator_offset.rpartition("-")
        rows = self.locators.get(locator)
        if rows is None or not offset.isdigit():
            return json_response(
                [{"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}], 400
            )
        start = int(offset)
        page = rows[start : start + self.page_size]
        done = start + self.page_size >= len(rows)
        self.pages_served += 1
        body = {"totalSize": len(rows) if total is None else total, "done": done, "records": page}
        if not done:
            body["nextRecordsUrl"] = f"{API}/query/{locator}-{start + self.page_size}"
        return json_response(body)


# --- Vivun's export ------------------------------------------------------------------------------


class FakeVivunExport:
    """Vivun's export endpoint under /api/export/v1: `records[export]` keyed by column name."""

    BASE = "/api/export/v1"

    def __init__(self, server, *, token="vivun-token", link_header=False):  # noqa: S107 - a test token
        self.server = server
        self.token = token
        self.link_header = link_header
        self.records: dict[str, list[dict]] = {
            "activities": [],
            "product-gaps": [],
            "deliverables": [],
        }
        self.requests: list[tuple[str, dict]] = []
        self.faults = Faults()
        # The page starting at record `hold_page` waits for `release` (a run caught half-way).
        self.hold_page: int | None = None
        self.release = threading.Event()
        self.held = threading.Event()
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    @property
    def base_url(self) -> str:
        return self.server.url_for(self.BASE)

    def fail(self, status: int, body=None, headers=None, times=1, *, page: int | None = None):
        """The next request (of the page starting at record `page`) answers this."""
        where = "export" if page is None else f"export:{page}"
        self.faults.add(where, status, body, headers, times)

    def handle(self, request: Request) -> Response:
        self.requests.append((request.path, dict(request.args)))
        if self.hold_page is not None and int(request.args.get("cursor", 0)) == self.hold_page:
            self.held.set()
            self.release.wait(timeout=120)
        fault = self.faults.take(f"export:{request.args.get('cursor', 0)}") or self.faults.take(
            "export"
        )
        if fault is not None:
            return fault
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return json_response({"error": "unauthorized", "message": "Invalid API token"}, 401)
        export = request.path.removeprefix(self.BASE + "/")
        if export not in self.records:
            return json_response({"error": "not_found"}, 404)
        since = request.args.get("modified_since")
        rows = [
            record
            for record in self.records[export]
            if not since
            or _stamp(record.get("Last Modified Date", "1970-01-01T00:00:00Z")) >= _stamp(since)
        ]
        size = int(request.args.get("page_size", "100"))
        start = int(request.args.get("cursor", "0"))
        body = {"data": rows[start : start + size], "next": None}
        headers = {}
        if start + size < len(rows):
            query = {"cursor": start + size, "page_size": size}
            if since:
                query["modified_since"] = since
            next_url = f"{self.server.url_for(request.path)}?{urlencode(query)}"
            if self.link_header:
                headers["Link"] = f'<{next_url}>; rel="next"'
            else:
                body["next"] = next_url
        return json_response(body, headers=headers)
