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


class Sender:
    """Sends a batch of deliveries, reusing one connection per checked address.

    Used as a context manager; the connections close with it.
    """

    def __init__(self, *, timeout: float):
        self.timeout = timeout
        self._pools: dict[tuple, urllib3.HTTPConnectionPool] = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.host, target.port, target.address)
        pool = self._pools.get(key)
        if pool is None:
            pool_class = _PinnedHTTPSPool if target.scheme == "https" else _PinnedHTTPPool
            pool = self._pools[key] = pool_class(
                target.host,
                target.port,
                timeout=urllib3.Timeout(connect=min(self.timeout, 5.0), read=self.timeout),
                maxsize=1,
                retries=False,
                pinned_address=target.address,
            )
        return pool

    def post(self, *, target: Target, body: bytes, headers: dict[str, str]) -> Reply:
        try:
            response = self._pool(target).urlopen(
                "POST",
                target.path,
                body=body,
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
                redirect=False,
                preload_content=False,
                assert_same_host=False,
            )
            try:
                # Only the start of the answer is kept; a receiver cannot make us read megabytes.
                excerpt = response.read(EXCERPT_BYTES, decode_content=False)
            except BaseException:
                response.close()
                raise
            if response.length_remaining == 0:
                response.release_conn()  # read to the end: the connection can be reused
            else:
                response.close()
            return Reply(
                status=response.status,
                headers={name.lower(): value for name, value in response.headers.items()},
                excerpt=excerpt.decode("utf-8", errors="replace"),
            )
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}") from exc
