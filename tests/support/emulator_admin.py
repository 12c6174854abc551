"""The ONCOR emulator's /admin/ API for tests: seed orders, read what clients did, inject faults."""

from __future__ import annotations

from typing import Any

import httpx

from adapter.emulator.process import EmulatorProcess


class EmulatorAdmin:
    def __init__(self, emulator: EmulatorProcess) -> None:
        self._admin = httpx.AsyncClient(base_url=f"{emulator.base_url}/admin/", timeout=60)
        self._api = httpx.AsyncClient(
            base_url=emulator.api_url, headers={"X-Oncor-API-Token": emulator.token}, timeout=60
        )

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._admin.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json()

    async def add_orders(self, count: int = 1, **options: Any) -> dict[str, list[str]]:
        """New orders (and their patients): `{"ids": [...], "patient_ids": [...]}`."""
        seeded: dict[str, list[str]] = await self._json(
            "POST", "orders", json={"count": count, **options}
        )
        return seeded

    async def new_orders(self, count: int = 1) -> list[str]:
        """The ids of `count` new orders."""
        return (await self.add_orders(count))["ids"]

    async def orders(self) -> list[dict[str, Any]]:
        orders: list[dict[str, Any]] = await self._json("GET", "orders")
        return orders

    async def order(self, order_id: str) -> dict[str, Any]:
        order: dict[str, Any] = await self._json("GET", f"orders/{order_id.lstrip('#')}")
        return order

    async def documents(self, order_id: str | None = None) -> list[dict[str, Any]]:
        params = {"order_id": order_id} if order_id else {}
        documents: list[dict[str, Any]] = await self._json("GET", "documents", params=params)
        return documents

    async def attachment(self, attachment_id: str) -> dict[str, Any]:
        meta: dict[str, Any] = await self._json("GET", f"attachments/{attachment_id.lstrip('#')}")
        return meta

    async def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        """Every ONCOR call the emulator answered (to `path`, if given), in arrival order."""
        calls: list[dict[str, Any]] = await self._json("GET", "calls")
        return [call for call in calls if path in (None, call["path"])]

    async def refused_calls(self) -> list[dict[str, Any]]:
        """The calls the emulator answered 503 (faults, outages), in arrival order."""
        return [call for call in await self.calls() if call["status"] == 503]

    async def cycles(self) -> list[list[dict[str, Any]]]:
        """The call log split at each order search: one list of calls per polling cycle."""
        cycles: list[list[dict[str, Any]]] = []
        for call in await self.calls():
            if call["path"] == "search/start/RcTm66OrderQuery":
                cycles.append([])
            if cycles:
                cycles[-1].append(call)
        return cycles

    async def clear_calls(self) -> None:
        await self._json("DELETE", "calls")

    async def faults(self, **faults: Any) -> None:
        await self._json("POST", "faults", json=faults)

    async def clear_faults(self) -> None:
        await self._json("DELETE", "faults")

    async def outage(self, **schedule: Any) -> None:
        """ONCOR down: now until `end_outage`, or as scheduled (start_in, down_for, up_for)."""
        await self._json("POST", "outage", json=schedule)

    async def end_outage(self) -> None:
        await self._json("DELETE", "outage")

    async def configure(self, **config: Any) -> None:
        await self._json("POST", "config", json=config)

    async def patient(self, patient_id: str) -> dict[str, Any]:
        """The patient as ONCOR's API gives it to the adapter."""
        response = await self._api.get("patient/get", params={"id": patient_id.lstrip("#")})
        response.raise_for_status()
        [patient] = response.json()["result"]
        return dict(patient)

    async def close(self) -> None:
        await self._admin.aclose()
        await self._api.aclose()
