"""The publisher's own CPU per order, I/O aside, and what each of its parts costs.

    python bench/own_cost.py [--pages 100] [--runs 5]

The adapter's `Poller`, ONCOR client, event mapping, spans and metrics run as `dezo-adapter
run` builds them, in one process; ONCOR answers from memory, and the bus confirms at once. So
what is measured is the adapter's own Python, not aiohttp's, aiormq's or the broker's: the part
of `bench/run.py`'s CPU per order that the raw baseline does not have, or has in plain dicts.

ONCOR's answers are the emulator's own: a page of 100 orders, a patient, the page's
attachments and a status update, fetched once from a real emulator and kept as the client read
them. The page is copied for each of `--pages` pages with new order, patient and attachment ids,
so that every order is a new one, as in a real backlog. Each run is a process of its own (with
the defaults: DEZO_* variables are left out): it polls the whole backlog twice and times the
second cycle. In every kind of run but `whole`, one part is made free:

  mapping   each order's event is built once beforehand (OrderMapping.order_received)
  message   each order's AMQP message is made once beforehand (order_received_message)
  spans     no spans at all (tracing.span does nothing), hence no trace context either
  metrics   prometheus-client's counters, gauges and histograms do nothing

The kinds take turns, `--runs` times. Printed: the whole, and what each part costs, the whole
minus the run without it within each turn (the median, and each turn's figure). The
parts overlap a little (the message carries the trace context the spans make), and what is
left, not broken down, also holds the replay's own work and the event loop's. A tight loop
over one part alone understates its cost: here it runs amid everything else, with the garbage
collector set as `run` sets it, as in the adapter.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

import prometheus_client.metrics as prometheus

from adapter.config import Settings
from adapter.observability import metrics, tracing
from adapter.oncor.client import OncorClient
from adapter.oncor.models import RcTm66OrderQuery
from adapter.oncor.status import STATUS_PROCESSING_STARTED
from adapter.oncor.transport import Answer
from adapter.publisher import order_event, poller
from adapter.publisher.enrich import page_attachment_ids
from adapter.publisher.poller import Poller
from adapter.runner import GC_THRESHOLDS, build_oncor_client, poll_settings
from bench.environment import EmulatorAdmin, emulator

KINDS = ("whole", "mapping", "message", "spans", "metrics")
PAGE_SIZE = 100  # the adapter's default page size, and the size of the captured page
Json = dict[str, Any]


# --- ONCOR's answers: captured once from the emulator, replayed from memory -----------------------


async def capture(path: Path) -> None:
    """A page of 100 fresh orders, one patient and the page's attachments, as the emulator
    answers them, into `path`."""
    with (
        tempfile.TemporaryDirectory(prefix="dezo-own-cost-") as work,
        emulator(Path(work) / "emulator.log") as process,
    ):
        admin = EmulatorAdmin(process.base_url)
        try:
            await admin.reset(latency_ms=0)
            await admin.add_orders(PAGE_SIZE)
        finally:
            await admin.close()
        async with OncorClient(process.api_url, process.token) as oncor:
            job = await oncor.start_order_search(RcTm66OrderQuery())
            page = await oncor.wait_until_ready(job.id)
            patient = await oncor.get_patient(page.rc[0].patient_id or "")
            attachments = await oncor.query_attachments(page_attachment_ids(page.rc))
            status = await oncor.update_instance_status(
                page.rc[0].id or "", STATUS_PROCESSING_STARTED
            )
    answers = {
        "page": page.model_dump(mode="json", by_alias=True, exclude_none=True),
        "patient": patient.model_dump(mode="json", by_alias=True, exclude_none=True),
        "attachments": [
            meta.model_dump(mode="json", by_alias=True, exclude_none=True) for meta in attachments
        ],
        "status": status.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    await asyncio.to_thread(path.write_text, json.dumps(answers, ensure_ascii=False))


class ReplayedOncor:
    """The client's wire, answering from memory: the captured page once per page, renumbered.
    The job's total is known, so the client never asks past the last page."""

    def __init__(self, answers: Json, pages: int) -> None:
        total = pages * PAGE_SIZE
        self._pages = [
            _result(_renumbered(answers["page"], number, total)) for number in range(pages)
        ]
        copies = (
            {**meta, "id": _attachment_id(meta["id"], number)}
            for number in range(pages)
            for meta in answers["attachments"]
        )
        self._attachments = {copy["id"]: copy for copy in copies}
        self._fixed = {
            "search/start/RcTm66OrderQuery": _result({"id": answers["page"]["page"]["job"]["id"]}),
            "patient/get": _result(answers["patient"]),
            "rc/updateInstanceStatus": _result(answers["status"]),
        }

    async def send(self, verb: str, url: str, headers: Any, body: Any) -> Answer:
        await asyncio.sleep(0)  # the answer comes later, as from the network
        method = urlsplit(url).path.split("/json/", 1)[-1]
        if method == "search/get/RecordsPage":
            content = self._pages[json.loads(body)["page"]["offset"]]
        elif method == "attachment/query":  # once per page
            wanted = json.loads(body)["query"]["ids"]
            described = [self._attachments[id_] for id_ in wanted if id_ in self._attachments]
            content = json.dumps({"result": described}, ensure_ascii=False).encode()
        else:
            content = self._fixed[method]
        return Answer(200, {}, content)

    async def aclose(self) -> None:
        pass


def _renumbered(page: Json, number: int, total: int) -> Json:
    renumbered = json.loads(json.dumps(page))
    renumbered["size"] = total
    renumbered["page"]["offset"] = number
    for position, record in enumerate(renumbered["rc"]):
        order = number * PAGE_SIZE + position
        record["id"] = f"#1930:{order}"
        record["patient_id"] = f"#69:{order}"
        part = record.get("rc_tm66_order") or {}
        for holder in [record, part.get("primary_diagnostics_doc") or {}, *part.get("docs", [])]:
            ids = holder.get("attachment_id") or []
            holder["attachment_id"] = [_attachment_id(id_, number) for id_ in ids]
    return renumbered


def _attachment_id(orid: str, page: int) -> str:
    """The page's own copy of an attachment id: `#1587:197` on page 3 is `#1587:1970003`."""
    return f"{orid}{page:04d}"


def _result(result: Json) -> bytes:
    return json.dumps({"result": [result]}, ensure_ascii=False).encode()


class ConfirmingBus:
    """The bus, confirming every publish at once."""

    async def publish(self, exchange: str, routing_key: str, message: Any, **_: Any) -> None:
        await asyncio.sleep(0)


# --- one run: one kind, in a process of its own ----------------------------------------------


def made_once(function: Callable[..., Any], key: Callable[..., str]) -> Callable[..., Any]:
    """`function`, computing its result once per key: the first cycle makes them all."""
    made: dict[str, Any] = {}

    def once(*args: Any) -> Any:
        found = key(*args)
        if found not in made:
            made[found] = function(*args)
        return made[found]

    return once


class NoSpan:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> Any:
        return tracing.trace.INVALID_SPAN

    def __exit__(self, *exc_info: object) -> None:
        pass


def make_free(kind: str) -> None:
    if kind == "mapping":
        mapping = order_event.OrderMapping
        mapping.order_received = made_once(mapping.order_received, lambda _, r, *__: r.id)
    elif kind == "message":
        message = made_once(poller.order_received_message, lambda event: event.order.id)
        poller.order_received_message = message
    elif kind == "spans":
        tracing.span = NoSpan
    elif kind == "metrics":
        for cls, names in (
            (prometheus.Counter, ["inc"]),
            (prometheus.Gauge, ["inc", "dec", "set", "set_to_current_time"]),
            (prometheus.Histogram, ["observe"]),
        ):
            for name in names:
                setattr(cls, name, lambda *_, **__: None)
        prometheus.MetricWrapperBase.labels = lambda self, *_, **__: self


async def measure(kind: str, answers: Json, pages: int) -> float:
    """CPU µs per order of the second of two cycles over the whole backlog."""
    gc.set_threshold(*GC_THRESHOLDS)
    tracing.configure_tracing({})  # no exporter: spans carry context only, as in the bench
    make_free(kind)
    # No broker is used, and no ONCOR: the client's wire is replaced below.
    settings = Settings(oncor_url="http://oncor.invalid/api/1.0/json/", oncor_token="own-cost")
    async with build_oncor_client(settings, metrics.observe_oncor_call) as oncor:
        # Answers from memory instead of aiohttp: the measure is the adapter's own Python.
        oncor._wire = ReplayedOncor(answers, pages)
        cycles = Poller(poll_settings(settings), oncor, ConfirmingBus())
        await _cycle(cycles, kind, pages)  # the first: what `make_free` makes once is made here
        # What the first cycle left (and the events or messages made once) out of the GC's
        # way: every kind times its cycle from the same state.
        gc.collect()
        gc.freeze()
        started = time.process_time()
        await _cycle(cycles, kind, pages)
        return 1e6 * (time.process_time() - started) / (pages * PAGE_SIZE)


async def _cycle(cycles: Poller, kind: str, pages: int) -> None:
    report = await cycles.run_cycle(lambda: True)
    await cycles.settle(60)  # its status updates too
    if report.outcome != "success" or report.marked != pages * PAGE_SIZE:
        raise RuntimeError(f"{kind}: the cycle did not go through: {report}")


# --- runs of every kind, in turns ------------------------------------------------------------


def main(args: argparse.Namespace) -> int:
    if args.measure:
        answers = json.loads(Path(args.answers).read_text())
        print(f"{asyncio.run(measure(args.measure, answers, args.pages)):.1f}")
        return 0
    with tempfile.TemporaryDirectory(prefix="dezo-own-cost-") as work:
        answers = Path(work) / "answers.json"
        asyncio.run(capture(answers))
        runs: dict[str, list[float]] = {kind: [] for kind in KINDS}
        for _ in range(args.runs):
            for kind in KINDS:
                runs[kind].append(_run(kind, answers, args.pages))
    orders = args.pages * PAGE_SIZE
    print(
        f"The publisher's own CPU per order, I/O aside: {orders:,} orders a run,"
        f" {args.runs} turn(s) of every kind; medians, and each turn's figure"
    )
    whole = runs["whole"]
    print(f"  {'all of it':<12}{statistics.median(whole):6.0f} µs   ({_listed(whole)})")
    for kind in KINDS[1:]:
        # A turn takes under a minute: a machine speeding up or slowing down weighs on both.
        costs = [all_of_it - without for all_of_it, without in zip(whole, runs[kind], strict=True)]
        print(f"  {kind:<12}{statistics.median(costs):6.0f} µs   ({_listed(costs)})")
    return 0


def _run(kind: str, answers: Path, pages: int) -> float:
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            kind,
            "--answers",
            str(answers),
            "--pages",
            str(pages),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={name: value for name, value in os.environ.items() if not name.startswith("DEZO_")},
    )
    return float(done.stdout.split()[-1])


def _listed(values: list[float]) -> str:
    return " ".join(f"{value:.0f}" for value in values)


def _at_least_two(text: str) -> int:
    # The client tells what RecordsPage's offset counts from the second page it asks for.
    if int(text) < 2:
        raise argparse.ArgumentTypeError("at least 2 pages")
    return int(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pages", type=_at_least_two, default=100, help="pages of 100 orders a run (2 or more)"
    )
    parser.add_argument("--runs", type=int, default=5, help="runs of each kind")
    parser.add_argument("--measure", choices=KINDS, help=argparse.SUPPRESS)  # one run, inside
    parser.add_argument("--answers", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main(parse_args()))
