"""SSRF through claim-check URLs (issue 12): every way to point the adapter inward fails with a
`command.failed` naming no port or error type, nothing reaches ONCOR, and an allow-listed
host still works."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from adapter.emulator.process import EmulatorProcess
from tests.support.commands import by_url, document_data, inline, pdf_bytes
from tests.support.files import FileServer
from tests.support.running_consumer import running_consumer

SECRET = b"%PDF-1.7\n internal secret that must never reach ONCOR"


@pytest.fixture
def internal() -> Iterator[FileServer]:
    """A server inside that holds a secret, and that no allow-list names."""
    with FileServer() as server:
        server.url("secret.pdf", SECRET)
        yield server


@pytest.fixture
def redirector(internal: FileServer) -> Iterator[FileServer]:
    """An allowed host that sends the adapter inward, to the secret."""
    with FileServer() as server:
        server.redirect("x.pdf", f"{internal.base_url}/files/secret.pdf")
        yield server


async def test_every_inward_url_is_refused_and_an_allowed_host_still_works(
    emulator: EmulatorProcess,
    amqp_url: str,
    file_server: FileServer,
    internal: FileServer,
    redirector: FileServer,
) -> None:
    port = internal.authority.rpartition(":")[2]
    inward = {
        "loopback address": (f"http://127.0.0.1:{port}/files/secret.pdf", "url_not_allowed"),
        "localhost": (f"http://localhost:{port}/files/secret.pdf", "url_not_allowed"),
        "decimal address": (f"http://2130706433:{port}/files/secret.pdf", "url_not_allowed"),
        "IPv6 loopback": (f"http://[::1]:{port}/files/secret.pdf", "url_not_allowed"),
        "allowed port, other name": (
            f"http://localhost:{file_server.authority.rpartition(':')[2]}/files/good.pdf",
            "url_not_allowed",
        ),
        "cloud metadata": ("http://169.254.169.254/latest/meta-data/", "url_not_allowed"),
        "allowed host redirecting inward": (f"{redirector.base_url}/redirect/x.pdf", "url_failed"),
    }
    allowed = [file_server.authority, redirector.authority]
    async with running_consumer(
        emulator, amqp_url, attachment_url_allowed_hosts=allowed
    ) as consumer:
        order_ids = await consumer.admin.new_orders(len(inward) + 1)
        await consumer.admin.clear_calls()
        sent = {}
        for (case, (url, problem)), order_id in zip(inward.items(), order_ids, strict=False):
            data = document_data("order.conclusion", order_id, pdf=by_url(url))
            sent[case] = (await consumer.bus.send("order.conclusion", data), problem)
        good = file_server.url("good.pdf", pdf_bytes(8 * 1024))
        valid = await consumer.bus.send(
            "order.conclusion",
            document_data("order.conclusion", order_ids[-1], pdf=by_url(good)),
        )

        assert (await consumer.bus.outcome(valid)).routing_key.startswith("command.succeeded")
        for case, (command_id, problem) in sent.items():
            failed = (await consumer.bus.outcome(command_id)).event["data"]
            assert failed["problem"] == problem, (case, failed)
            message = failed["message"]
            assert "not allowed" in message or "redirects are not followed" in message, case
            assert port not in message, (case, message)  # no port scanner
            assert not re.search(r"[A-Z][a-z]+(Error|Exception)", message), (case, message)

        calls = [call["path"] for call in await consumer.admin.calls()]
        assert calls.count("attachment/create") == 1  # the allowed file only
        assert len(await consumer.admin.documents()) == 1
        assert len(await consumer.admin.documents(order_ids[-1])) == 1


async def test_a_signature_that_is_no_signature_is_refused(
    emulator: EmulatorProcess, amqp_url: str
) -> None:
    async with running_consumer(emulator, amqp_url) as consumer:
        [order_id] = await consumer.admin.new_orders(1)
        data = document_data(
            "order.conclusion", order_id, signature=inline(b"<html>not a signature", "c.sig")
        )
        failed = await consumer.bus.outcome(await consumer.bus.send("order.conclusion", data))
        assert failed.event["data"]["problem"] == "not_signature"
        assert await consumer.admin.documents() == []
