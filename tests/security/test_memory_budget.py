"""64 inline commands of about 11 MB each, all waiting at once (issue 12: 847 MB RSS before):
with the default settings every one is answered and the consumer's peak RSS stays under 450 MB,
because the prefetch and the commands carried out at once follow the memory budget."""

from __future__ import annotations

from pathlib import Path

from adapter.config import load_settings
from adapter.emulator.process import EmulatorProcess
from tests.consumer.support import peak_rss_bytes
from tests.support.commands import MIB, document_data, inline, pdf_bytes
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.processes import adapter_process, default_env
from tests.support.running_consumer import observing

COMMANDS = 64
PEAK_RSS_LIMIT = 450 * MIB


async def test_64_commands_of_11_mb_inline_are_all_answered_within_450_mb(
    emulator: EmulatorProcess, amqp_url: str, tmp_path: Path
) -> None:
    defaults = load_settings(oncor_token="t")
    pdf_size = defaults.attachment_inline_max_bytes  # 8 MiB: about 11 MB of base64 in the body
    env = default_env(emulator, amqp_url, http_port=0, oncor_read_timeout=120)
    admin = EmulatorAdmin(emulator)
    async with observing(amqp_url, defaults.topology) as bus:
        order_ids = await admin.new_orders(COMMANDS)
        sent = []
        pdf = inline(pdf_bytes(pdf_size))
        for order_id in order_ids:  # all queued before the consumer starts: all wait at once
            data = document_data("order.conclusion", order_id, pdf=pdf)
            sent.append(await bus.send("order.conclusion", data))
        with adapter_process(
            env, tmp_path / "consumer.log", "run", "--role", "consumer"
        ) as consumer:
            outcomes = [await bus.outcome(command_id, within=600) for command_id in sent]
            peak = peak_rss_bytes(consumer.popen.pid)
    await admin.close()

    assert all(o.routing_key == "command.succeeded.order.conclusion" for o in outcomes)
    print(
        f"\n{COMMANDS} commands of {len(pdf['content_base64']) / MIB:.1f} MiB of base64: "
        f"consumer peak RSS {peak / MIB:.0f} MiB (first lane {defaults.command_window.first_lane})"
    )
    assert peak <= PEAK_RSS_LIMIT
