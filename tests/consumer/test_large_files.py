"""Big files go through with bounded memory: a 50 MB PDF by URL is streamed to disk and from
there to ONCOR, and an inline PDF exactly at the inline limit is accepted. The consumer runs as
its own process so that its peak RSS (VmHWM) can be read and printed."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from pathlib import Path

from adapter.config import load_settings
from adapter.emulator.process import EmulatorProcess
from tests.consumer.support import peak_rss_bytes
from tests.support.commands import MIB, by_url, document_data, inline, pdf_bytes, pdf_file
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.files import FileServer
from tests.support.processes import adapter_process, default_env
from tests.support.running_consumer import observing

URL_PDF_BYTES = 50 * MIB


async def test_50mb_pdf_by_url_and_inline_pdf_at_the_limit_upload_with_bounded_memory(
    emulator: EmulatorProcess, amqp_url: str, file_server: FileServer, tmp_path: Path
) -> None:
    defaults = load_settings(oncor_token="x")
    inline_limit = defaults.attachment_inline_max_bytes
    big = pdf_file(tmp_path / "big.pdf", URL_PDF_BYTES)
    at_limit = pdf_bytes(inline_limit)
    env = default_env(
        emulator,
        amqp_url,
        http_port=0,
        oncor_read_timeout=120,
        attachment_url_allowed_hosts=f'["{file_server.authority}"]',
    )
    admin = EmulatorAdmin(emulator)
    async with observing(amqp_url, defaults.topology) as bus:
        order_ids = await admin.new_orders(2)
        with adapter_process(
            env, tmp_path / "consumer.log", "run", "--role", "consumer"
        ) as consumer:
            await asyncio.sleep(1.5)  # started and idle
            idle = peak_rss_bytes(consumer.popen.pid)
            files = [(by_url(file_server.url("big.pdf", big)), hashlib.sha1(big.read_bytes()))]
            files.append((inline(at_limit), hashlib.sha1(at_limit)))
            peaks = []
            for (pdf, digest), order_id in zip(files, order_ids, strict=True):
                command_id = await bus.send(
                    "order.conclusion", document_data("order.conclusion", order_id, pdf=pdf)
                )
                outcome = await bus.outcome(command_id, within=120)
                assert outcome.routing_key == "command.succeeded.order.conclusion", outcome.event
                [pdf_id] = outcome.event["data"]["attachment_ids"]
                assert (await admin.attachment(pdf_id))["sha1"] == digest.hexdigest()
                peaks.append(peak_rss_bytes(consumer.popen.pid))
    await admin.close()

    inline_message = len(base64.b64encode(at_limit))
    print(
        f"\nconsumer peak RSS: idle {idle / MIB:.0f} MiB; after the 50 MiB PDF by URL "
        f"{peaks[0] / MIB:.0f} MiB; after the {inline_limit / MIB:.0f} MiB inline PDF "
        f"({inline_message / MIB:.1f} MiB of base64) {peaks[1] / MIB:.0f} MiB"
    )
    # Streamed: the 50 MiB file never sits in memory whole.
    assert peaks[0] - idle < URL_PDF_BYTES / 2
    # Inline: the message as received and joined, its JSON text, the base64 string, the
    # decoded bytes: a small multiple of the file, measured at about 5.6x.
    assert peaks[1] - idle < 8 * inline_limit
