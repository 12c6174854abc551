"""Which claim-check URLs the adapter may download, and the one address it connects to.

A URL's host must be on `DEZO_ATTACHMENT_URL_ALLOWED_HOSTS` (empty by default: no downloads):

    files.example.org        that host, any port
    files.example.org:8443   that host on that port only
    *.example.org            any host under example.org (never example.org itself)

The host is then resolved once and every address it resolves to is checked: loopback, private,
link-local, multicast, unspecified and other non-global addresses are refused unless the host
is listed exactly (a `*.` entry never reaches inside the network). The download connects to a
checked address (the next one if it refuses), never resolving the name again, so DNS cannot
answer differently the second time (rebinding). Redirects are not followed: they lead anywhere.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Match = Literal["exact", "wildcard"]


class UrlNotAllowed(Exception):
    """The URL may not be downloaded; the message names the host, never a port or an address."""


class UrlUnresolvable(Exception):
    """The URL's host has no address."""


def normalize_host(host: str) -> str:
    """`Files.Example.ORG.` -> `files.example.org`, `[::1]` -> `::1`, `пример.рф` -> IDNA."""
    host = host.strip().strip("[]").rstrip(".").lower()
    return host if host.isascii() else host.encode("idna").decode("ascii")


def parse_entry(entry: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]:port` or `*.domain` -> (host, port or None); ValueError if bad."""
    text = entry.strip()
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"), entry)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, entry)
    host = normalize_host(host)
    if not host or "/" in host or "@" in host or host in ("*", "*."):
        raise ValueError(f"{entry!r} is not a host or host:port")
    return host, port


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r} has no valid port")
    return int(text)


@dataclass(frozen=True)
class AllowedHosts:
    """The parsed allow-list: (host, port or None for any port) pairs."""

    entries: frozenset[tuple[str, int | None]] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowedHosts:
        return cls(frozenset(parse_entry(entry) for entry in entries))

    def match(self, host: str, port: int) -> Match | None:
        host = normalize_host(host)
        found: Match | None = None
        for pattern, allowed_port in self.entries:
            if allowed_port not in (None, port):
                continue
            if pattern == host:
                return "exact"
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                found = "wildcard"
        return found


def is_internal(address: IpAddress) -> bool:
    """Anything but a public unicast address: loopback, private, link-local, multicast, …"""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


async def checked_addresses(allowed: AllowedHosts, host: str, port: int) -> list[IpAddress]:
    """The addresses to connect to for `host:port`, in the resolver's order, if the
    allow-list permits them all."""
    shown = normalize_host(host)
    match = allowed.match(host, port)
    if match is None:
        raise UrlNotAllowed(
            f"host {shown} is not allowed: it is not on DEZO_ATTACHMENT_URL_ALLOWED_HOSTS"
        )
    addresses = await _resolve(shown, port)
    if match != "exact" and any(is_internal(address) for address in addresses):
        raise UrlNotAllowed(
            f"host {shown} is not allowed: it resolves to an internal address, and only hosts "
            "listed exactly on DEZO_ATTACHMENT_URL_ALLOWED_HOSTS may"
        )
    return addresses


async def _resolve(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except OSError:
        raise UrlUnresolvable(f"host {host} could not be resolved") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise UrlUnresolvable(f"host {host} could not be resolved")
    return addresses
