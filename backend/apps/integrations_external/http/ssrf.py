"""SSRF guard for outgoing webhooks, and for the GitHub client (http/guarded.py checks
every socket it opens with `resolve`, `check_addresses` and `refusal_for_peer`).

Only http(s) URLs, and never to an address inside our own network: loopback, private,
link-local (cloud metadata at 169.254.169.254), CGNAT (100.64/10), multicast, reserved,
unspecified, and IPv6 forms that embed one of those (IPv4-mapped, 6to4, Teredo, NAT64).

Checked twice:
  - when an endpoint is created or updated (`validate_url`, a 400 for the API);
  - when a request is sent: `pin` resolves the host, validates every address and pins the
    connection to a validated IP (a libcurl `RESOLVE` entry: the URL, `Host` header and TLS
    SNI/certificate check keep the name), so a DNS answer that changes between the check and
    the connection (DNS rebinding) cannot reach an internal address; and the transport checks
    the address of every socket it opens once more (`refusal_for_peer`), whatever resolved it.

`settings.INTEGRATIONS_ALLOW_PRIVATE_TARGETS = True` (tests, local demos) turns the guard off
and costs nothing: no resolution at all.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from apps.integrations_external.http.errors import TargetRefused, TemporaryError

ALLOWED_SCHEMES = ("http", "https")
# Resolutions are cached briefly: the transport stays fast under load, and a cached answer is
# safe because we connect to the very address we validated.
RESOLVE_TTL_SECONDS = 30.0
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def private_targets_allowed() -> bool:
    return bool(getattr(settings, "INTEGRATIONS_ALLOW_PRIVATE_TARGETS", False))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_reason(ip: IPAddress) -> str | None:
    """Why `ip` may not be a webhook target, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            reason = forbidden_reason(embedded)
            return f"embeds {embedded}, which {reason}" if reason else None
    checks = [
        (ip.is_unspecified, "is unspecified"),
        (ip.is_loopback, "is a loopback address"),
        (ip.is_link_local, "is a link-local address"),
        (ip.is_multicast, "is a multicast address"),
        (
            isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT,
            "is a CGNAT address (100.64.0.0/10)",
        ),
        (ip.is_private, "is a private address"),
        (ip.is_reserved, "is a reserved address"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "is a site-local address"),
        (not ip.is_global, "is not a public address"),
    ]
    for failed, reason in checks:
        if failed:
            return reason
    return None


@dataclass(frozen=True)
class Resolved:
    addresses: tuple[str, ...]
    expires: float


_cache: dict[tuple[str, int], Resolved] = {}
_cache_lock = threading.Lock()


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses (cached for RESOLVE_TTL_SECONDS). Raises socket.gaierror."""
    key = (host, port)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit.expires > now:
        return list(hit.addresses)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[key] = Resolved(addresses, now + RESOLVE_TTL_SECONDS)
    return list(addresses)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _split(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"The URL is not valid: {exc}") from exc
    scheme = (parts.scheme or "").lower()
    if scheme not in ALLOWED_SCHEMES:
        raise TargetRefused("Only http and https URLs are allowed.")
    host = parts.hostname or ""
    if not host:
        raise TargetRefused("The URL has no host.")
    return scheme, host, port or (443 if scheme == "https" else 80)


def check_addresses(host: str, addresses: list[str]) -> IPAddress:
    """Validate every address `host` resolved to; return the one to connect to."""
    if not addresses:
        raise TargetRefused(f"{host} does not resolve to any address.")
    chosen: IPAddress | None = None
    for raw in addresses:
        ip = ipaddress.ip_address(raw.split("%", 1)[0])
        reason = forbidden_reason(ip)
        if reason:
            subject = raw if host == raw else f"{host} resolves to {raw}, which"
            raise TargetRefused(f"Refused by the SSRF guard: {subject} {reason}.")
        chosen = chosen or ip
    if chosen is None:
        raise TargetRefused(f"Refused by the SSRF guard: {host} has no address.")
    return chosen


def validate_url(url: str) -> None:
    """At create/update time: scheme and host; a host that resolves must resolve only to public
    addresses. A name that does not resolve (yet) is accepted: the send-time check covers it.
    Raises TargetRefused with a message fit for a 400."""
    _scheme, host, port = _split(url)
    if private_targets_allowed():
        return
    try:
        addresses = resolve(host, port)
    except (socket.gaierror, UnicodeError):
        return
    check_addresses(host, addresses)


@dataclass(frozen=True)
class PinnedTarget:
    """Where to connect: `url` unchanged; `resolve` is a libcurl RESOLVE entry
    ("host:port:address") that makes the connection go to the validated address, or None when
    nothing needs pinning (an IP literal, or private targets allowed)."""

    url: str
    resolve: str | None = None


def pin(url: str) -> PinnedTarget:
    """At send time: resolve, validate every address, and pin the request to one of them.

    Raises TargetRefused (permanent) for a forbidden target, TemporaryError when the name does
    not resolve right now. With private targets allowed, returns the URL untouched.
    """
    if private_targets_allowed():
        return PinnedTarget(url)
    _scheme, host, port = _split(url)
    try:
        addresses = resolve(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise TemporaryError(f"could not resolve {host}: {exc}") from exc
    ip = check_addresses(host, addresses)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        address = f"[{ip}]" if ip.version == 6 else str(ip)
        return PinnedTarget(url, resolve=f"{host}:{port}:{address}")
    return PinnedTarget(url)


def refusal_for_peer(address: str) -> str | None:
    """At connect time, for the address a socket is about to connect to: why it is refused,
    or None. The last word, whatever resolved the name."""
    if private_targets_allowed():
        return None
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    reason = forbidden_reason(ip)
    return f"Refused by the SSRF guard: {ip} {reason}." if reason else None
