"""amqps:// to the broker and https:// to ONCOR, trusting a CA made in the test through the
standard SSL_CERT_FILE: a command goes through both, and without the CA nothing connects.

The broker and the emulator speak TLS through small terminating proxies (the shared test
broker has no TLS listener); to the adapter that is what a TLS listener is."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from adapter.config import load_settings
from adapter.emulator.process import EmulatorProcess
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.processes import adapter_env, adapter_process, wait_until_ready
from tests.support.running_consumer import observing


def make_ca_and_server_cert(into: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate for localhost, server key), made with openssl."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=into, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=dezo test CA")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
            "-out", "server.csr", "-subj", "/CN=localhost")  # fmt: skip
    (into / "ext.cnf").write_text("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-out", "server.pem",
            "-extfile", "ext.cnf")  # fmt: skip
    return into / "ca.pem", into / "server.pem", into / "server.key"


@asynccontextmanager
async def tls_in_front_of(port: int, context: ssl.SSLContext) -> AsyncIterator[int]:
    """A TLS listener forwarding every connection to 127.0.0.1:`port`; yields its own port."""

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            sink.close()

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(forward, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def tls_url(url: str, scheme: str, port: int) -> str:
    """`url` with this scheme, on localhost (the name in the certificate) at this port."""
    parts = urlsplit(url)
    login = f"{parts.username}:{parts.password}@" if parts.username else ""
    return urlunsplit(parts._replace(scheme=scheme, netloc=f"{login}localhost:{port}"))


@pytest.mark.parametrize("trusted", [True, False], ids=["with the CA", "without it"])
async def test_amqps_and_https_with_a_custom_ca(
    emulator: EmulatorProcess, amqp_url: str, tmp_path: Path, trusted: bool
) -> None:
    ca, cert, key = make_ca_and_server_cert(tmp_path)
    (tmp_path / "other").mkdir()
    other_ca, _, _ = make_ca_and_server_cert(tmp_path / "other")  # trusts nothing we serve
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    broker_port = urlsplit(amqp_url).port or 5672
    oncor_port = urlsplit(emulator.api_url).port
    assert oncor_port is not None
    settings = load_settings(oncor_token="t")
    admin = EmulatorAdmin(emulator)
    async with (
        tls_in_front_of(broker_port, context) as amqps_port,
        tls_in_front_of(oncor_port, context) as https_port,
        observing(amqp_url, settings.topology) as bus,
    ):
        env = adapter_env(
            emulator,
            tls_url(amqp_url, "amqps", amqps_port),
            oncor_url=tls_url(emulator.api_url, "https", https_port),
        )
        env["SSL_CERT_FILE"] = str(ca if trusted else other_ca)
        [order_id] = await admin.new_orders(1)
        with (
            adapter_process(env, tmp_path / "adapter.log", "run", "--role", "consumer"),
        ):
            if not trusted:
                with pytest.raises(AssertionError, match="not met"):
                    await asyncio.to_thread(wait_until_ready, env, 8)
                assert "CERTIFICATE_VERIFY_FAILED" in (tmp_path / "adapter.log").read_text()
                return
            await asyncio.to_thread(wait_until_ready, env)
            data = {"order_id": order_id, "ris_dicom": "https://ris.example.org/study/9"}
            command_id = await bus.send("order.associate-dicom", data)
            outcome = await bus.outcome(command_id, within=30)
    await admin.close()
    assert outcome.routing_key == "command.succeeded.order.associate-dicom", outcome.event


def test_plain_text_to_another_machine_is_named_for_a_warning_at_start() -> None:
    remote = load_settings(
        oncor_token="t",
        oncor_url="http://oncor.example.org/api/1.0/json/",
        amqp_url="amqp://u:p@rabbit.example.org/",
    )
    assert remote.plaintext_endpoints == ["DEZO_ONCOR_URL", "DEZO_AMQP_URL"]
    local = load_settings(oncor_token="t", amqp_url="amqp://guest:guest@localhost/")
    assert local.plaintext_endpoints == []  # the defaults: this machine
    encrypted = load_settings(
        oncor_token="t",
        oncor_url="https://oncor.example.org/api/1.0/json/",
        amqp_url="amqps://u:p@rabbit.example.org/",
    )
    assert encrypted.plaintext_endpoints == []
