"""The only module that makes HTTP requests for webhooks: one signed POST to a checked address.

urllib3 connects to `target.address` (the IP the SSRF check approved) while the Host header and
TLS (SNI and certificate verification) keep using the host name.
"""

from dataclasses import dataclass

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util import connection as connection_util

from integrations.webhooks.targets import Target

USER_AGENT = "EPOS-Webhooks/1.0"
EXCERPT_BYTES = 500


class _PinnedAddress:
    """Mixin: open the socket to the pinned address instead of resolving the host again."""

    def __init__(self, *args, pinned_address: str, **kwargs):
        super().__init__(*args, **kwargs)
        self._pinned_address = pinned_address

    def _new_conn(self):
        return connection_util.create_connection(
            (self._pinned_address, self.port),
            self.timeout,
            source_address=self.source_address,
            socket_options=self.socket_options,
        )


class _PinnedHTTPConnection(_PinnedAddress, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedAddress, HTTPSConnection):
    pass


class _PinnedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    excerpt: str


class NetworkError(Exception):
    """No HTTP answer: refused, reset, timed out, TLS failure."""


def post(*, target: Target, body: bytes, headers: dict[str, str], timeout: float) -> Reply:
    pool_class = _PinnedHTTPSPool if target.scheme == "https" else _PinnedHTTPPool
    pool = pool_class(
        target.host,
        target.port,
        timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
        maxsize=1,
        retries=False,
        pinned_address=target.address,
    )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **headers,
            },
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            # Only the start of the answer is kept; a receiver cannot make us read megabytes.
            excerpt = response.read(EXCERPT_BYTES, decode_content=False)
        finally:
            # The connection is not reused, so the rest of the body is not read at all.
            response.close()
        return Reply(
            status=response.status,
            headers={name.lower(): value for name, value in response.headers.items()},
            excerpt=excerpt.decode("utf-8", errors="replace"),
        )
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise NetworkError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        pool.close()
