"""Broker addresses: the list DEZO_AMQP_URL names, and how one is named in logs (no credentials).

`amqp://user:secret@node-a:5672/vhost,node-b,amqp://user:secret@node-c:5671/vhost` is three
nodes of one cluster. An entry without a scheme is a host (and port) that takes everything else,
scheme, credentials, vhost and query, from the first entry, which must be a full URL.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit, urlunsplit

SCHEMES = ("amqp", "amqps")


def broker_address(url: str) -> str:
    """`amqp://user:secret@host:5672/vhost` -> `amqp://host:5672/vhost`."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def broker_urls(value: str) -> tuple[str, ...]:
    """The full URL of each address in a comma-separated list, in the order given.

    Raises ValueError naming the bad entry by position and without its credentials.
    """
    entries = [entry.strip() for entry in value.split(",")]
    first = _checked(1, entries[0], urlsplit(entries[0]))
    urls = [urlunsplit(first)]
    for position, entry in enumerate(entries[1:], start=2):
        if "://" in entry:
            parts = urlsplit(entry)
        elif set(entry) & set("/?#@"):
            raise _bad_entry(position, entry, "must be host[:port] or a full URL")
        else:
            credentials = first.netloc.rpartition("@")[0]
            parts = first._replace(netloc=f"{credentials}@{entry}" if credentials else entry)
        urls.append(urlunsplit(_checked(position, entry, parts)))
    return tuple(urls)


def _bad_entry(position: int, entry: str, reason: str) -> ValueError:
    shown = broker_address(entry) if "://" in entry else entry.rpartition("@")[2]
    return ValueError(f"entry {position} ({shown or 'empty'}): {reason}")


def _checked(position: int, entry: str, parts: SplitResult) -> SplitResult:
    """`parts`, once it is an AMQP URL with a host and a usable port."""
    if parts.scheme not in SCHEMES:
        reason = "must be an" if position == 1 else "must be host[:port] or a full"
        raise _bad_entry(position, entry, f"{reason} amqp:// or amqps:// URL")
    if not parts.hostname:
        raise _bad_entry(position, entry, "has no host")
    try:
        port = parts.port
    except ValueError:
        raise _bad_entry(position, entry, "port is not a number from 0 to 65535") from None
    if port == 0:
        raise _bad_entry(position, entry, "port 0 is not a port")
    return parts
