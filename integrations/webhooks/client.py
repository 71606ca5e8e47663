"""The only module that makes HTTP requests for webhooks: signed POSTs to checked addresses.

urllib3 connects to `target.address` (the IP the SSRF check approved) while the Host header and
TLS (SNI and certificate verification) keep using the host name. The requests of one batch run
side by side, and each has a deadline for the whole exchange: a receiver that drips its answer a
byte at a time is cut off when the deadline passes, not after each slow read.
"""

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util import connection as connection_util

from integrations.webhooks.targets import Target

USER_AGENT = "EPOS-Webhooks/1.0"
EXCERPT_BYTES = 500
# Requests of one batch sent at once; fan-out makes batches no larger than this.
PARALLEL_REQUESTS = 8


class _PinnedAddress:
    """Mixin: open the socket to the pinned address instead of resolving the host again, and
    remember it so a deadline can cut it off."""

    def __init__(self, *args, pinned_address: str, sockets: list, **kwargs):
        super().__init__(*args, **kwargs)
        self._pinned_address = pinned_address
        self._sockets = sockets

    def _new_conn(self):
        sock = connection_util.create_connection(
            (self._pinned_address, self.port),
            self.timeout,
            source_address=self.source_address,
            socket_options=self.socket_options,
        )
        self._sockets.append(sock)
        return sock


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


@dataclass(frozen=True)
class Request:
    target: Target
    body: bytes
    headers: dict[str, str]


class NetworkError(Exception):
    """No complete HTTP answer: refused, reset, timed out, TLS failure."""


_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _pool_of_threads() -> ThreadPoolExecutor:
    # Made on first use, so each worker process (forked by Celery) gets its own threads.
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=PARALLEL_REQUESTS, thread_name_prefix="epos-webhook-http"
            )
    return _executor


def _exchange(request: Request, timeout: float, sockets: list) -> Reply:
    target = request.target
    pool_class = _PinnedHTTPSPool if target.scheme == "https" else _PinnedHTTPPool
    pool = pool_class(
        target.host,
        target.port,
        timeout=urllib3.Timeout(connect=min(timeout, 5.0), read=timeout),
        maxsize=1,
        retries=False,
        pinned_address=target.address,
        sockets=sockets,
    )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=request.body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **request.headers,
            },
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            # Only the start of the answer is read; a receiver cannot make us read megabytes.
            excerpt = response.read(EXCERPT_BYTES, decode_content=False)
        finally:
            response.close()
        return Reply(
            status=response.status,
            headers={name.lower(): value for name, value in response.headers.items()},
            excerpt=excerpt.decode("utf-8", errors="replace"),
        )
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        raise NetworkError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        pool.close()


def _cut_off(sockets: list) -> None:
    for sock in sockets:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def post_all(requests: list[Request], *, timeout: float) -> list[Reply | NetworkError]:
    """POST each request (side by side, at most PARALLEL_REQUESTS at once); each answer, or the
    error that stood for it, in the order of `requests`. No exchange outlasts `timeout` seconds
    by more than a moment."""
    results: list[Reply | NetworkError] = []
    for start in range(0, len(requests), PARALLEL_REQUESTS):
        chunk = requests[start : start + PARALLEL_REQUESTS]
        sockets = [[] for _ in chunk]
        futures = [
            _pool_of_threads().submit(_exchange, request, timeout, own)
            for request, own in zip(chunk, sockets, strict=True)
        ]
        deadline = time.monotonic() + timeout
        for future, own in zip(futures, sockets, strict=True):
            try:
                results.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
            except NetworkError as exc:
                results.append(exc)
            except FutureTimeout:
                _cut_off(own)
                results.append(NetworkError(f"Timed out: no complete answer within {timeout:g} s."))
    return results
