"""Checks that keep webhook deliveries away from internal addresses (SSRF).

A URL is checked when a subscription is created or changed, and its host name is
resolved and checked again before every attempt, because DNS can change between
the two (DNS rebinding). The sender then connects to an address this check
returned, so no second lookup can swap it.
"""

import ipaddress
import socket
from typing import Callable
from urllib.parse import urlsplit

# getaddrinfo(host, port) -> list of IP address strings
Resolver = Callable[[str, int], list[str]]


class UnsafeUrl(ValueError):
    """The webhook URL is malformed or points at an address partners may not reach."""


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver (``/etc/hosts``, then DNS)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def check_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address,
                  allow_loopback: bool) -> None:
    """Raise ``UnsafeUrl`` unless ``address`` is globally routable.

    Rejects private, shared (100.64.0.0/10), link-local (which includes cloud
    metadata at 169.254.169.254), unique-local IPv6, multicast, reserved and
    unspecified addresses, and loopback unless ``allow_loopback``. An IPv4 address
    mapped into IPv6 (``::ffff:10.0.0.1``) is judged as the IPv4 address.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        if allow_loopback:
            return
        raise UnsafeUrl(f"resolves to the loopback address {address}")
    if address.is_link_local:
        raise UnsafeUrl(f"resolves to the link-local address {address}")
    if not address.is_global or address.is_multicast:
        raise UnsafeUrl(f"resolves to the non-public address {address}")


def parse_webhook_url(url: str, require_https: bool = False):
    """Split ``url``; raise ``UnsafeUrl`` for a bad scheme, no host or credentials."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"is not a valid URL ({exc})") from exc
    schemes = ("https",) if require_https else ("http", "https")
    if parts.scheme not in schemes:
        raise UnsafeUrl(f"must use {' or '.join(schemes)}")
    if not parts.hostname:
        raise UnsafeUrl("has no host")
    if parts.username or parts.password:
        raise UnsafeUrl("must not contain credentials; verify the signature instead")
    if parts.fragment:
        raise UnsafeUrl("must not contain a fragment")
    default_port = 443 if parts.scheme == "https" else 80
    return parts, port or default_port


def resolve_public(host: str, port: int, allow_loopback: bool = False,
                   resolver: Resolver = system_resolver) -> list[str]:
    """Resolve ``host`` and return its addresses; raise ``UnsafeUrl`` if any is unsafe.

    Every address the name resolves to is checked, so a name with one public and
    one private address is rejected as a whole.
    """
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        check_address(literal, allow_loopback)
        return [str(literal)]
    try:
        addresses = resolver(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(f"host {host!r} does not resolve") from exc
    if not addresses:
        raise UnsafeUrl(f"host {host!r} does not resolve")
    for raw in addresses:
        check_address(ipaddress.ip_address(raw.split("%")[0]), allow_loopback)
    return addresses


def check_webhook_url(url: str, allow_loopback: bool = False,
                      require_https: bool = False,
                      resolver: Resolver = system_resolver) -> None:
    """Raise ``UnsafeUrl`` unless ``url`` is well formed and resolves only to public
    addresses (and loopback, when ``allow_loopback`` is set, as in tests)."""
    parts, port = parse_webhook_url(url, require_https)
    resolve_public(parts.hostname, port, allow_loopback, resolver)
