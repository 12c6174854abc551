"""The dispatcher: each command to its handler in its order's line, and back as a decision."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from adapter.consumer import order_line
from adapter.consumer.dispatcher import RetryLater, WaitForOncor
from adapter.consumer.order_line import OrderLines
from adapter.messages.outcomes import CommandFailed, CommandSucceeded
from adapter.oncor.errors import (
    OncorAuthError,
    OncorCircuitOpen,
    OncorProtocolError,
    OncorRejected,
    OncorUnavailable,
)
from tests.support.commands import document_data, pdf_bytes
from tests.support.consumer_parts import (
    FILES_HOST,
    RETRY_BUDGET,
    URL_CONCURRENCY,
    dispatcher,
    received,
)
from tests.support.memory_oncor import MemoryOncor
from tests.support.waiting import eventually

ADD = "tm66/order/addRcTm66OrderConclusion"


def conclusion(order_id: str, attempt: int = 0, **changes: object):  # type: ignore[no-untyped-def]
    data = document_data("order.conclusion", order_id, **changes)
    return received("order.conclusion", data, attempt=attempt)


async def dispatch_with_fault(error: Exception, attempt: int = 0):  # type: ignore[no-untyped-def]
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    oncor.fail("add_conclusion", error)  # type: ignore[arg-type]
    return await (await dispatcher(oncor)).dispatch(conclusion(order_id, attempt))


async def test_command_carried_out_is_a_success_naming_the_new_document() -> None:
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    decision = await (await dispatcher(oncor)).dispatch(conclusion(order_id))
    assert isinstance(decision, CommandSucceeded)
    assert decision.record_id == oncor.documents(order_id)[0].id
    assert decision.command_id == "cmd-1"


async def test_invalid_command_fails_as_invalid_with_its_problem() -> None:
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    decision = await (await dispatcher(oncor)).dispatch(conclusion(order_id, conclusion_code="9"))
    assert isinstance(decision, CommandFailed)
    assert (decision.reason, decision.problem) == ("invalid", "unknown_code")


async def test_oncor_refusal_fails_with_oncors_own_account() -> None:
    decision = await dispatch_with_fault(
        OncorRejected(ADD, "InvalidArgumentsException", "bad expert", "u-1")
    )
    assert isinstance(decision, CommandFailed)
    assert (decision.reason, decision.problem) == ("rejected_by_oncor", "rejected_by_oncor")
    assert decision.oncor_error is not None
    assert (decision.oncor_error.name, decision.oncor_error.uuid) == (
        "InvalidArgumentsException",
        "u-1",
    )
    assert "dezo.commands.dead" in decision.message


async def test_unknown_order_is_rejected_by_oncor() -> None:
    oncor = MemoryOncor()
    decision = await (await dispatcher(oncor)).dispatch(conclusion("#30:12345"))
    assert isinstance(decision, CommandFailed)
    assert decision.reason == "rejected_by_oncor"


async def test_unavailable_oncor_means_the_next_retry_step() -> None:
    decision = await dispatch_with_fault(
        OncorUnavailable(ADD, "HTTP 503", maybe_applied=False), attempt=1
    )
    assert decision == RetryLater(2, decision.error)  # type: ignore[union-attr]


async def test_auth_error_is_retried_like_an_outage() -> None:
    decision = await dispatch_with_fault(OncorAuthError(ADD, 401))
    assert isinstance(decision, RetryLater) and decision.step == 1


async def test_retry_budget_spent_fails_as_oncor_unavailable() -> None:
    decision = await dispatch_with_fault(OncorUnavailable(ADD, "HTTP 503"), attempt=RETRY_BUDGET)
    assert isinstance(decision, CommandFailed)
    assert (decision.reason, decision.problem) == ("oncor_unavailable", "oncor_unavailable")


async def test_open_circuit_parks_the_command_without_spending_budget() -> None:
    decision = await dispatch_with_fault(OncorCircuitOpen(ADD), attempt=RETRY_BUDGET)
    assert isinstance(decision, WaitForOncor)


async def test_unreadable_oncor_answer_is_an_internal_error() -> None:
    decision = await dispatch_with_fault(OncorProtocolError(ADD, "not JSON"))
    assert isinstance(decision, CommandFailed)
    assert (decision.reason, decision.problem) == ("internal_error", "oncor_protocol_error")


async def test_unexpected_error_is_an_internal_error_that_names_no_detail() -> None:
    decision = await dispatch_with_fault(KeyError("secret detail"))
    assert isinstance(decision, CommandFailed)
    assert (decision.reason, decision.problem) == ("internal_error", "internal_error")
    assert "secret detail" not in decision.message and "KeyError" in decision.message


async def test_maybe_applied_failure_holds_the_order_for_the_write_horizon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(order_line.asyncio, "sleep", sleep)
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    oncor.fail("add_conclusion", OncorUnavailable(ADD, "read timeout", maybe_applied=True))
    await (await dispatcher(oncor, write_horizon=7.0)).dispatch(conclusion(order_id))
    assert waited == [7.0]


async def test_commands_of_one_order_look_and_write_one_after_the_other() -> None:
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    bus_dispatcher = await dispatcher(oncor)
    first_looking, release = asyncio.Event(), asyncio.Event()
    looked = 0
    original = oncor.list_records

    async def held_list_records(ehr_id: str):  # type: ignore[no-untyped-def]
        nonlocal looked
        looked += 1
        if looked == 1:
            first_looking.set()
            await release.wait()
        return await original(ehr_id)

    oncor.list_records = held_list_records  # type: ignore[method-assign]
    first = asyncio.create_task(bus_dispatcher.dispatch(conclusion(order_id)))
    await first_looking.wait()
    second = asyncio.create_task(bus_dispatcher.dispatch(conclusion(order_id)))
    for _ in range(10):
        await asyncio.sleep(0)
    assert looked == 1  # the second waits for the order's turn
    release.set()
    decisions = await asyncio.gather(first, second)
    assert decisions[0] == decisions[1]  # the second found the first's document
    assert len(oncor.documents(order_id)) == 1


class HeldFiles(httpx.AsyncBaseTransport):
    """A file server whose downloads hang until released."""

    def __init__(self) -> None:
        self.started = 0
        self.release = asyncio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.started += 1
        await self.release.wait()
        return httpx.Response(200, content=pdf_bytes(1024))


def by_url(order_id: str, attempt: int = 0, n: int = 1):  # type: ignore[no-untyped-def]
    """A conclusion whose PDF is at a URL of FILES_HOST."""
    pdf = {"name": "c.pdf", "media_type": "application/pdf", "url": f"http://{FILES_HOST}/{n}"}
    data = document_data("order.conclusion", order_id, pdf=pdf)
    return received("order.conclusion", data, command_id=f"url-{n}", attempt=attempt)


async def test_a_slow_download_holds_only_its_own_command() -> None:
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    files = HeldFiles()
    bus_dispatcher = await dispatcher(oncor, files=files)
    downloading = asyncio.create_task(bus_dispatcher.dispatch(by_url(order_id)))
    await eventually(lambda: files.started == 1, within=1, every=0.01)
    # The same order's next command is carried out meanwhile.
    expertise = received(
        "order.expertise-dicom", document_data("order.expertise-dicom", order_id), command_id="e"
    )
    assert isinstance(await bus_dispatcher.dispatch(expertise), CommandSucceeded)
    assert not downloading.done()
    files.release.set()
    assert isinstance(await downloading, CommandSucceeded)
    assert len(oncor.documents(order_id)) == 2


async def test_with_every_download_slot_taken_a_url_command_is_retried_later() -> None:
    oncor = MemoryOncor()
    order_id = oncor.add_order().id or ""
    files = HeldFiles()
    bus_dispatcher = await dispatcher(oncor, files=files)
    held = [
        asyncio.create_task(bus_dispatcher.dispatch(by_url(order_id, n=n)))
        for n in range(URL_CONCURRENCY)
    ]
    await eventually(lambda: files.started == URL_CONCURRENCY, within=1, every=0.01)
    decision = await bus_dispatcher.dispatch(by_url(order_id, n=99))
    assert isinstance(decision, RetryLater) and decision.step == 1
    assert "download slots" in decision.error and files.started == URL_CONCURRENCY
    last = await bus_dispatcher.dispatch(by_url(order_id, attempt=RETRY_BUDGET, n=99))
    assert isinstance(last, CommandFailed) and last.problem == "spool_full"
    files.release.set()
    assert all(isinstance(d, CommandSucceeded) for d in await asyncio.gather(*held))
    assert len(oncor.documents(order_id)) == URL_CONCURRENCY


async def test_commands_of_different_orders_do_not_wait_for_each_other() -> None:
    oncor = MemoryOncor()
    held_order, free_order = oncor.add_order().id or "", oncor.add_order().id or ""
    bus_dispatcher = await dispatcher(oncor)
    release = asyncio.Event()
    original = oncor.get_record

    async def held_get_record(record_id: str):  # type: ignore[no-untyped-def]
        if record_id == held_order:
            await release.wait()
        return await original(record_id)

    oncor.get_record = held_get_record  # type: ignore[method-assign]
    held = asyncio.create_task(bus_dispatcher.dispatch(conclusion(held_order)))
    free = await bus_dispatcher.dispatch(conclusion(free_order))
    assert isinstance(free, CommandSucceeded) and not held.done()
    release.set()
    assert isinstance(await held, CommandSucceeded)


async def test_an_orders_commands_take_turns_in_arrival_order_whatever_they_do_before() -> None:
    lines, turns = OrderLines(write_horizon=0.0), []

    async def command(name: str, checks_for: float) -> None:
        async with lines.joined("#1:1") as turn:
            await asyncio.sleep(checks_for)  # e.g. the order asked of ONCOR before the turn
            async with turn():
                turns.append(name)

    await asyncio.gather(command("conclusion", 0.05), command("association", 0.0))
    assert turns == ["conclusion", "association"]


async def test_a_command_stepping_aside_to_download_lets_the_later_ones_go_first() -> None:
    lines, turns = OrderLines(write_horizon=0.0), []

    async def command(name: str, downloads_for: float) -> None:
        async with lines.joined("#1:1") as turn:
            if downloads_for:
                turn.step_aside()
                await asyncio.sleep(downloads_for)
            async with turn():
                turns.append(name)

    await asyncio.gather(command("by url", 0.05), command("inline", 0.0), command("other", 0.0))
    assert turns == ["inline", "other", "by url"]
