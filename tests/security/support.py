"""Helpers shared by the security tests: subscriptions made directly (as if an older check had
let them in), one delivery attempt for one event, and a raw TCP receiver that misbehaves."""

import socket
import threading
import time

from django.utils import timezone

from epos.lib import crypto
from epos.models import OutboxMessage
from integrations.models import WebhookDelivery, WebhookSubscription
from integrations.webhooks import services


def make_subscription(user, url, event="opportunity.stage_changed", **fields):
    return WebhookSubscription.objects.create(
        user=user,
        event=event,
        target_url=url,
        secret_encrypted=crypto.encrypt(services._new_secret()),
        **fields,
    )


def make_event(opportunity, topic="opportunity.stage_changed", **extra):
    """An announced event about `opportunity` (as the dispatcher would have seen it)."""
    return OutboxMessage.objects.create(
        topic=topic,
        payload={"opportunity_id": opportunity.pk, "name": opportunity.name, **extra},
        attempts=1,
        dispatched_at=timezone.now(),
    )


def make_delivery(subscription, message):
    return WebhookDelivery.objects.create(
        subscription=subscription, message=message, next_attempt_at=timezone.now()
    )


def deliver(subscription, message):
    """One attempt at the delivery of `message` to `subscription`; returns it re-read."""
    delivery = make_delivery(subscription, message)
    services.webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


class RawServer:
    """A TCP listener on loopback; `handler(conn)` runs on a thread per connection.

    `accepted` holds the monotonic time of every accepted connection.
    """

    def __init__(self, handler):
        self.handler = handler
        self.accepted: list[float] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(time.monotonic())
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn):
        try:
            conn.settimeout(30)
            self.handler(conn, self.stopped)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def close(self):
        self.stopped.set()
        self.sock.close()
        self.thread.join(timeout=2)


def read_request(conn):
    """Read until the end of the request head and whatever body came with it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data
