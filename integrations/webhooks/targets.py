"""Where a webhook may be sent: public http(s) addresses only (no SSRF into our own network).

A target is checked when it is subscribed and again before every attempt, and the attempt
connects to the very address that was checked, so a DNS answer that changes between the check
and the connection (DNS rebinding) cannot slip a private address past it.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class TargetRefused(Exception):
    """The URL is not one EPOS will call; the message says why in plain words."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    address: str  # the checked IP address to connect to


# IPv6 ranges that carry an IPv4 address in their last 32 bits (NAT64, IPv4-compatible and
# -translated); `ipaddress` calls some of them global whatever the IPv4 address inside.
_EMBEDS_IPV4_AT_END = [
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64, well-known prefix
    ipaddress.ip_network("::/96"),  # IPv4-compatible (deprecated)
    ipaddress.ip_network("::ffff:0:0:0/96"),  # IPv4-translated
]
# Never a public destination: local-use NAT64 and the old site-local range.
_NEVER_PUBLIC = [ipaddress.ip_network("64:ff9b:1::/48"), ipaddress.ip_network("fec0::/10")]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:  # 2002::/16
        return address.sixtofour
    if address.teredo is not None:  # 2001::/32: the client's address
        return address.teredo[1]
    for network in _EMBEDS_IPV4_AT_END:
        if address in network:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in _NEVER_PUBLIC):
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return _is_public(embedded)
    return address.is_global and not address.is_multicast


def parse_target_url(url: str) -> tuple[str, str, int, str]:
    if len(url) > 2000:
        raise TargetRefused("The URL is longer than 2,000 characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"The URL is not valid: {exc}.") from exc
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("The URL must start with http:// or https://.")
    if not parts.hostname:
        raise TargetRefused("The URL has no host name.")
    if parts.username or parts.password:
        raise TargetRefused("The URL must not carry a user name or password.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def resolve_target(url: str) -> Target:
    """Parse and resolve `url`; refuse it unless every address it resolves to is public."""
    scheme, host, port, path = parse_target_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"The host {host!r} cannot be resolved.") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise TargetRefused(f"The host {host!r} cannot be resolved.")
    if not settings.EPOS_WEBHOOK_ALLOW_PRIVATE:
        # Every address must be public, or a round-robin name could hide a private one.
        private = [str(address) for address in addresses if not _is_public(address)]
        if private:
            raise TargetRefused(
                f"The host {host!r} resolves to a private, loopback or link-local address "
                f"({', '.join(sorted(set(private)))}); webhooks go to public addresses only."
            )
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))
