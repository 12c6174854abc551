"""ONCOR record ids (ORIDs) such as `#1930:0`."""

from __future__ import annotations

import re

ORID_PATTERN = r"^#\d+:\d+$"
_ORID = re.compile(ORID_PATTERN)
_BARE_ORID = re.compile(r"^\d+:\d+$")


class InvalidOrid(ValueError):
    """The text is not an ORID of the form `#<cluster>:<position>`."""


def normalize_orid(text: str) -> str:
    """Return the canonical `#N:M` form; accepts the bare `N:M` form used in URLs."""
    candidate = text.strip()
    if _BARE_ORID.match(candidate):
        candidate = "#" + candidate
    if not _ORID.match(candidate):
        raise InvalidOrid(f"{text!r} is not an ONCOR record id like '#1930:0'")
    return candidate


def orid_for_query(orid: str) -> str:
    """The form for a query string: without `#`, which would otherwise start a URL fragment."""
    return normalize_orid(orid)[1:]


def ui_link(oncor_origin: str, orid: str) -> str:
    """The ONCOR web UI link for any record, patient or EHR (`/ui-orid/{id without '#'}`)."""
    return f"{oncor_origin.rstrip('/')}/ui-orid/{orid_for_query(orid)}"
