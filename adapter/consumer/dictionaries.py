"""ONCOR's DEZO dictionaries (`/directory/get/Tm66*`), cached so a wrong code fails fast.

Loaded before the first command is taken and refreshed every `dictionary_refresh_interval`;
a failed refresh keeps the codes we have (ONCOR rarely changes them) and logs a warning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from adapter.consumer.errors import InvalidCommand
from adapter.oncor.api import OncorApi
from adapter.oncor.errors import OncorError
from adapter.oncor.models import Tm66Dictionary

log = logging.getLogger(__name__)

_FIRST_LOAD_BACKOFF = (1.0, 30.0)  # first and longest pause between tries at start


class DictionaryCache:
    def __init__(self, oncor: OncorApi, names: Iterable[Tm66Dictionary]) -> None:
        self._oncor = oncor
        self._names = tuple(dict.fromkeys(names))
        self._codes: dict[str, tuple[str, ...]] = {}

    async def load(self) -> None:
        """Fetch every dictionary; replaces the cache only when all of them arrived."""
        fetched = await asyncio.gather(*(self._oncor.get_dictionary(name) for name in self._names))
        self._codes = {
            name: tuple(entry.code for entry in entries if entry.code)
            for name, entries in zip(self._names, fetched, strict=True)
        }
        log.info("dictionaries loaded", extra={"dictionaries": list(self._codes)})

    async def load_until_ready(self, stop: asyncio.Event) -> bool:
        """Try until the dictionaries are loaded (True) or `stop` is set (False)."""
        pause, longest = _FIRST_LOAD_BACKOFF
        while not stop.is_set():
            try:
                await self.load()
                return True
            except OncorError as exc:
                log.warning(
                    "cannot load dictionaries yet", extra={"error": str(exc), "retry_in": pause}
                )
            await _wait(stop, pause)
            pause = min(pause * 2, longest)
        return False

    async def keep_fresh(self, interval: float, stop: asyncio.Event) -> None:
        while not await _wait(stop, interval):
            try:
                await self.load()
            except OncorError as exc:
                log.warning(
                    "dictionary refresh failed; keeping the cached codes", extra={"error": str(exc)}
                )

    def check(self, name: Tm66Dictionary, code: str) -> None:
        """Raise InvalidCommand(`unknown_code`) unless ONCOR's dictionary lists the code."""
        valid = self._codes[name]
        if code not in valid:
            raise InvalidCommand(
                "unknown_code",
                f"{code!r} is not a code of ONCOR's dictionary {name}; valid codes: "
                + ", ".join(valid),
            )


async def _wait(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to `seconds`; True as soon as `stop` is set."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True
