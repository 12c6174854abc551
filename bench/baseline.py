"""The baseline: the adapter's work with nothing else — no validation, retries, metrics or logs.

    python bench/baseline.py orders   --amqp-url URL --oncor-url URL --token T [...]
    python bench/baseline.py commands --amqp-url URL --oncor-url URL --token T [...]

Raw aio-pika + aiohttp, the same ONCOR calls in the same order, the same publishes with
publisher confirms and the same concurrency limits as the adapter's defaults, so that
adapter / baseline is the price of everything the adapter adds. Prints one line once it works.
Deliberately self-contained: it imports nothing from the adapter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
import uuid
from collections.abc import Awaitable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import aio_pika
import aiohttp
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage

READY_LINE = "baseline ready"
EVENT_TYPE_PREFIX = "ru.oncor.dezo."
STATUS_STARTED = '{status: "Обработка началась"}'
Json = dict[str, Any]


class Oncor:
    """ONCOR over one aiohttp session: answers are parsed, never validated."""

    def __init__(self, base_url: str, token: str, max_connections: int) -> None:
        self._base = base_url.rstrip("/") + "/"
        self._session = aiohttp.ClientSession(
            headers={"X-Oncor-API-Token": token, "Content-Type": "application/json"},
            # The adapter's pool: idle connections dropped after 4 s, before uvicorn closes them
            # at 5 s (aiohttp's 15 s default lost a request to a closing connection now and then).
            connector=aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=4.0),
        )

    async def post(self, method: str, body: Json | bytes) -> Json:
        return (await self.post_all(method, body))[0]

    async def post_all(self, method: str, body: Json | bytes) -> list[Json]:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        async with self._session.post(self._base + method, data=data) as response:
            return await self._results(response)

    async def get(self, method: str, record_id: str, key: str = "id") -> Json:
        return (await self.get_all(method, record_id, key))[0]

    async def get_all(self, method: str, record_id: str, key: str = "id") -> list[Json]:
        # ORIDs go without their '#' in a query string, as the adapter sends them.
        url = f"{self._base}{method}?{key}={record_id.lstrip('#')}"
        async with self._session.get(url) as response:
            return await self._results(response)

    @staticmethod
    async def _results(response: aiohttp.ClientResponse) -> list[Json]:
        response.raise_for_status()
        results: list[Json] = (await response.json())["result"]
        return results

    async def close(self) -> None:
        await self._session.close()


def cloud_event(type_name: str, event_id: str, subject: str, data: Json) -> bytes:
    event = {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:bench-baseline",
        "type": f"{EVENT_TYPE_PREFIX}{type_name}.v1",
        "subject": subject,
        "time": datetime.now(UTC).isoformat(),
        "data": data,
    }
    return json.dumps(event, ensure_ascii=False).encode()


def message(body: bytes, event_id: str, correlation_id: str) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        content_type="application/cloudevents+json",
        message_id=event_id,
        correlation_id=correlation_id,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


# --- orders: search, pages, patient, attachments, publish, mark --------------------------------


def order_attachment_ids(record: Json) -> list[str]:
    order = record.get("rc_tm66_order") or {}
    ids = list(record.get("attachment_id") or [])
    ids += (order.get("primary_diagnostics_doc") or {}).get("attachment_id") or []
    for doc in order.get("docs") or []:
        ids += doc.get("attachment_id") or []
    return list(dict.fromkeys(ids))


class OrderLoop:
    def __init__(self, oncor: Oncor, events: AbstractExchange, args: argparse.Namespace) -> None:
        self._oncor = oncor
        self._events = events
        self._page_size: int = args.page_size
        self._calls = asyncio.Semaphore(args.poll_concurrency)  # enrichment calls, as the adapter
        self._interval: float = args.poll_interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = time.monotonic()
            try:
                await self.cycle()
            except Exception as exc:  # as the adapter: the next cycle retries
                print(f"cycle failed: {exc!r}", flush=True)
            remaining = self._interval - (time.monotonic() - started)
            if remaining > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), remaining)

    async def cycle(self) -> None:
        # No to_date, as the adapter: ONCOR's docs do not say a bare date takes in its day.
        query = {
            "from_date": (date.today() - timedelta(days=30)).isoformat(),
            "status_is_null": True,
        }
        job = (await self._oncor.post("search/start/RcTm66OrderQuery", {"query": query}))["id"]
        page = await self._ready_page(job)
        total, seen, offset = page.get("size") or 0, 0, 0
        in_flight = asyncio.Semaphore(2 * self._page_size)  # pages in flight, as the adapter
        # One failure stops the cycle's other work, as in the adapter: nothing of it runs on
        # beside the next cycle, which would find those orders still unmarked.
        async with asyncio.TaskGroup() as orders:
            while records := page.get("rc") or []:
                attachments = orders.create_task(self._attachments(records))
                for record in records:
                    await in_flight.acquire()
                    order = orders.create_task(self._order(record, attachments))
                    order.add_done_callback(lambda _: in_flight.release())
                seen += len(records)
                if seen >= total:
                    break
                offset += 1  # the emulator runs with offsets counting pages
                page = await self._page(job, offset)

    async def _page(self, job: str, offset: int) -> Json:
        body = {"page": {"job": {"id": job}, "offset": offset, "size": self._page_size}}
        return await self._oncor.post("search/get/RecordsPage", body)

    async def _ready_page(self, job: str) -> Json:
        delay = 0.05
        while not (page := await self._page(job, 0))["page"]["job"]["ready"]:
            await asyncio.sleep(delay)
            delay = min(2 * delay, 2.0)
        return page

    async def _attachments(self, records: list[Json]) -> dict[str, Json]:
        ids = list(dict.fromkeys(id_ for record in records for id_ in order_attachment_ids(record)))
        async with self._calls:
            metas = await self._oncor.post_all("attachment/query", {"query": {"ids": ids}})
        return {meta["id"]: meta for meta in metas}

    async def _order(self, record: Json, attachments: Awaitable[dict[str, Json]]) -> None:
        order_id = record["id"]
        async with self._calls:
            patient = await self._oncor.get("patient/get", record["patient_id"])
        described = await attachments
        data = {
            "order": record,
            "patient": patient,
            "attachments": [described[i] for i in order_attachment_ids(record) if i in described],
        }
        event_id = f"order-{order_id}"
        body = cloud_event("order.received", event_id, order_id, data)
        await self._events.publish(
            message(body, event_id, order_id), routing_key="order.received", mandatory=True
        )
        status = {"updateInstanceStatus": {"json": STATUS_STARTED, "rc_id": order_id}}
        await self._oncor.post("rc/updateInstanceStatus", status)


# --- commands: consume, the document's ONCOR calls, publish the outcome, ack ------------------


class CommandLoop:
    def __init__(self, oncor: Oncor, events: AbstractExchange) -> None:
        self._oncor = oncor
        self._events = events

    async def handle(self, delivery: AbstractIncomingMessage) -> None:
        command = json.loads(delivery.body)
        data = command["data"]
        order_id = data["order_id"]
        # The adapter's first-delivery path: the order exists, and its EHR holds no conclusion
        # of this order yet (the look for an earlier copy's document).
        order = await self._oncor.get("rc/get", order_id)
        records = await self._oncor.get_all("rc/getList", order["ehr_id"], key="ehr_id")
        conclusions = (r.get("rc_tm66_order_conclusion") or {} for r in records)
        if any(c.get("order_id") == order_id for c in conclusions):
            raise RuntimeError(f"order {order_id} already has a conclusion")
        pdf_id = await self._upload(data["pdf"]) if data.get("pdf") else None
        conclusion = {
            "order_id": order_id,
            "conclusion": {"code": data["conclusion_code"]},
            "description": data["description"],
            "expert": {"id": data["expert_id"]},
            **({"pdf_id": pdf_id} if pdf_id else {}),
        }
        created = await self._oncor.post(
            "tm66/order/addRcTm66OrderConclusion",
            {"record": {"rc_tm66_order_conclusion": conclusion}},
        )
        outcome = {"command_id": command["id"], "order_id": order_id, "record_id": created["id"]}
        event_id = str(uuid.uuid4())
        body = cloud_event("command.succeeded.order.conclusion", event_id, order_id, outcome)
        await self._events.publish(
            message(body, event_id, command["id"]),
            routing_key="command.succeeded.order.conclusion",
            mandatory=False,
        )
        await delivery.ack()

    async def _upload(self, pdf: Json) -> str:
        # The base64 text goes through as it came: no decoding, no %PDF- check.
        meta = json.dumps({"name": pdf["name"], "type": pdf["media_type"]}, ensure_ascii=False)
        body = b"".join(
            (
                b'{"attachment":{"meta":',
                meta.encode(),
                b',"data":"',
                pdf["content_base64"].encode(),
                b'"}}',
            )
        )
        attachment_id: str = (await self._oncor.post("attachment/create", body))["id"]
        return attachment_id


# --- the process -----------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    oncor = Oncor(args.oncor_url, args.token, args.max_connections)
    connection = await aio_pika.connect(args.amqp_url)
    try:
        publishing = await connection.channel(publisher_confirms=True)
        events = await publishing.get_exchange("dezo.events", ensure=False)
        if args.role == "orders":
            print(READY_LINE, flush=True)
            await OrderLoop(oncor, events, args).run(stop)
        else:
            consuming = await connection.channel(publisher_confirms=False)
            await consuming.set_qos(prefetch_count=args.prefetch)
            queue = await consuming.get_queue("dezo.commands", ensure=False)
            await queue.consume(CommandLoop(oncor, events).handle)
            print(READY_LINE, flush=True)
            await stop.wait()
    finally:
        await connection.close()
        await oncor.close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", choices=["orders", "commands"])
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--oncor-url", required=True)
    parser.add_argument("--token", required=True)
    # The adapter's defaults (DEZO_ONCOR_MAX_CONNECTIONS, _POLL_CONCURRENCY, _COMMAND_PREFETCH,
    # _ONCOR_PAGE_SIZE); run.py passes the values it gives the adapter.
    parser.add_argument("--max-connections", type=int, default=50)
    parser.add_argument("--poll-concurrency", type=int, default=16)
    parser.add_argument("--poll-interval", type=float, default=30.0)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--prefetch", type=int, default=64)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
