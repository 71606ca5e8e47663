"""The address a request came from, as far as EPOS can trust it.

REMOTE_ADDR is the peer of the connection. Behind the TLS proxy that is the proxy, for every
user alike; so when the peer is one of FORWARDED_ALLOW_IPS (the proxies gunicorn trusts), the
address the proxy appended to X-Forwarded-For is taken instead. A client elsewhere cannot choose
its address by sending that header.
"""

import ipaddress
from functools import cache

from django.conf import settings


@cache
def _trusted(entries: tuple[str, ...]) -> tuple:
    networks = []
    for entry in entries:
        if entry == "*":
            return ("*",)
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _is_trusted(address: str) -> bool:
    trusted = _trusted(tuple(settings.FORWARDED_ALLOW_IPS))
    if trusted == ("*",):
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_ip(request) -> str:
    peer = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded and _is_trusted(peer):
        # The right-most entry is the one the trusted proxy added itself.
        candidate = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            return peer
    return peer
