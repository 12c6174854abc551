"""Slow claim-check URLs (issue 12): a download that takes its time holds only its own command,
not its order and not the consumer's last delivery: the commands behind it are carried out
meanwhile."""

from __future__ import annotations

import asyncio

from adapter.emulator.process import EmulatorProcess
from adapter.observability import metrics
from tests.support.commands import by_url, document_data, inline, pdf_bytes
from tests.support.files import FileServer
from tests.support.running_consumer import running_consumer

#: How long FileServer's /slow takes to answer.
SLOW_SECONDS = 5.0


async def test_commands_behind_a_slow_download_are_carried_out_meanwhile(
    emulator: EmulatorProcess, amqp_url: str, file_server: FileServer
) -> None:
    async with running_consumer(
        emulator,
        amqp_url,
        attachment_url_allowed_hosts=[file_server.authority],
        attachment_url_timeout=SLOW_SECONDS + 3,
        # 2 deliveries: one may download, the other stays for everything else
        command_prefetch=2,
        command_retry_delays=(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
    ) as consumer:
        slow_order, second_slow_order, other_order = await consumer.admin.new_orders(3)
        slow_url = by_url(f"{file_server.base_url}/slow")
        bus = consumer.bus
        retries = metrics.command_retries.labels("order.conclusion")
        retried_before = retries._value.get()

        slow = await bus.send(
            "order.conclusion", document_data("order.conclusion", slow_order, pdf=slow_url)
        )
        await asyncio.sleep(0.5)  # its download is under way
        # Another slow download must not take the last delivery: it is retried later instead.
        second_slow = await bus.send(
            "order.conclusion",
            document_data("order.conclusion", second_slow_order, pdf=slow_url),
        )
        same_order = await bus.send(
            "order.expertise-dicom", document_data("order.expertise-dicom", slow_order)
        )
        other = await bus.send(
            "order.conclusion",
            document_data("order.conclusion", other_order, pdf=inline(pdf_bytes(2048))),
        )

        for command_id in (same_order, other):
            outcome = await bus.outcome(command_id, within=SLOW_SECONDS - 1.5)
            assert outcome.routing_key.startswith("command.succeeded"), outcome.event
        assert bus.outcomes_of(slow) == []  # still downloading

        # /slow answers with an empty body: the slow commands end as `empty_attachment`
        for command_id in (slow, second_slow):
            failed = (await bus.outcome(command_id, within=3 * SLOW_SECONDS)).event["data"]
            assert failed["problem"] == "empty_attachment", failed
        # the second one waited in a retry queue, not in a delivery
        assert retries._value.get() > retried_before
