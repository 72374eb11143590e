"""Checks that keep webhook deliveries away from internal addresses."""

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeUrl(ValueError):
    """The webhook URL is malformed or points at an address partners may not reach."""


def check_webhook_url(url: str, allow_loopback: bool = False,
                      require_https: bool = False) -> None:
    """Raise ``UnsafeUrl`` unless ``url`` resolves only to public addresses.

    Private, link-local (which includes cloud metadata at 169.254.169.254),
    multicast, reserved and unspecified addresses are always rejected; loopback only
    when ``allow_loopback`` is set, as in tests. Every address the host name
    resolves to is checked.
    """
    parts = urlsplit(url)
    schemes = ("https",) if require_https else ("http", "https")
    if parts.scheme not in schemes:
        raise UnsafeUrl(f"must use {' or '.join(schemes)}")
    if not parts.hostname:
        raise UnsafeUrl("has no host")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeUrl(f"host {parts.hostname!r} does not resolve") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address.is_loopback:
            if allow_loopback:
                continue
            raise UnsafeUrl(f"resolves to the loopback address {address}")
        if (address.is_private or address.is_link_local or address.is_multicast
                or address.is_reserved or address.is_unspecified):
            raise UnsafeUrl(f"resolves to the non-public address {address}")
