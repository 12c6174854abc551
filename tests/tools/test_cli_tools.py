"""The integrator's and operator's commands against a real adapter: send, watch, dead letters."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from adapter.bus.connection import Bus
from adapter.emulator.process import EmulatorProcess
from tests.support.commands import KIB, SIGNATURE, pdf_bytes
from tests.support.processes import (
    adapter_env,
    adapter_process,
    dezo_adapter,
    free_port,
    wait_until_ready,
)
from tests.support.waiting import wait_until

EXPERT = "39115-661768-26(20190905)"
PDF = pdf_bytes(2 * KIB)


def cli(amqp_url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        dezo_adapter(*args),
        env={"DEZO_AMQP_URL": amqp_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def admin_http(emulator: EmulatorProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url + "/admin/", timeout=30) as client:
        yield client


@contextmanager
def consumer(emulator: EmulatorProcess, amqp_url: str, log: Path) -> Iterator[None]:
    """`dezo-adapter run --role consumer`, ready (topology declared, consuming) on entry."""
    env = adapter_env(emulator, amqp_url)
    with adapter_process(env, log, "run", "--role", "consumer"):
        wait_until_ready(env)
        yield


def new_order(admin_http: httpx.Client) -> str:
    return str(admin_http.post("orders", json={"count": 1}).json()["ids"][0])


def test_send_conclusion_with_files_and_wait_prints_the_success(
    emulator: EmulatorProcess, amqp_url: str, admin_http: httpx.Client, tmp_path: Path
) -> None:
    order_id = new_order(admin_http)
    (tmp_path / "conclusion.pdf").write_bytes(PDF)
    (tmp_path / "conclusion.sig").write_bytes(SIGNATURE)
    with consumer(emulator, amqp_url, tmp_path / "adapter.log"):
        result = cli(
            amqp_url,
            "send",
            "conclusion",
            "--order",
            order_id,
            "--conclusion",
            "ЗАКЛЮЧЕНИЕ_СОВПАДАЕТ",
            "--description",
            "Заключение совпадает",
            "--expert",
            EXPERT,
            "--pdf",
            str(tmp_path / "conclusion.pdf"),
            "--sig",
            str(tmp_path / "conclusion.sig"),
            "--wait",
        )
    assert result.returncode == 0, result.stderr
    sent_line, outcome_text = result.stdout.split("\n", 1)
    assert sent_line.startswith("sent order.conclusion id=")
    outcome = json.loads(outcome_text)
    assert outcome["type"] == "ru.oncor.dezo.command.succeeded.v1"
    (document,) = admin_http.get("documents", params={"order_id": order_id[1:]}).json()
    conclusion = document["rc_tm66_order_conclusion"]
    assert document["id"] == outcome["data"]["record_id"]
    pdf = admin_http.get(f"attachments/{conclusion['pdf_id'][1:]}").json()
    signature = admin_http.get(f"attachments/{conclusion['pdf_ds_id'][1:]}").json()
    assert pdf["sha1"] == hashlib.sha1(PDF).hexdigest()
    assert signature["sha1"] == hashlib.sha1(SIGNATURE).hexdigest()


def test_send_refuses_an_invalid_command_before_publishing(amqp_url: str, tmp_path: Path) -> None:
    reject = ("send", "reject", "--order", "1930", "--reason", "ДАННЫЕ_ПАЦИЕНТА")
    reject += ("--description", "x", "--expert", EXPERT)
    result = cli(amqp_url, *reject, "--pdf", str(tmp_path / "missing.pdf"))
    assert result.returncode == 2
    assert "missing.pdf: no such file" in result.stderr
    result = cli(amqp_url, *reject)
    assert result.returncode == 2
    assert "order_id" in result.stderr and "'#1930:0'" in result.stderr


def test_send_wait_reports_a_failure_with_a_nonzero_exit(
    emulator: EmulatorProcess, amqp_url: str, admin_http: httpx.Client, tmp_path: Path
) -> None:
    order_id = new_order(admin_http)
    with consumer(emulator, amqp_url, tmp_path / "adapter.log"):
        result = cli(
            amqp_url,
            "send",
            "expertise-dicom",
            "--order",
            order_id,
            "--result",
            "НЕТ_ТАКОГО",
            "--description",
            "x",
            "--expert",
            EXPERT,
            "--wait",
        )
    assert result.returncode == 1
    outcome = json.loads(result.stdout.split("\n", 1)[1])
    assert outcome["data"]["reason"] == "invalid"
    assert "НАРУШЕНИЙ_НЕТ" in outcome["data"]["message"]  # it lists the valid codes


def test_dead_letters_are_listed_shown_kept_and_replayed_after_the_cause_is_fixed(
    emulator: EmulatorProcess, amqp_url: str, admin_http: httpx.Client, tmp_path: Path
) -> None:
    order_id = new_order(admin_http)
    admin_http.post("faults", json={"error_rate": 1.0, "paths": ["tm66/"]})
    with consumer(emulator, amqp_url, tmp_path / "adapter.log"):
        sent = cli(
            amqp_url,
            "send",
            "reject",
            "--order",
            order_id,
            "--reason",
            "КАЧЕСТВО_СНИМКА",
            "--description",
            "Снимок нечёткий",
            "--expert",
            EXPERT,
            "--id",
            "reject-1",
        )
        assert sent.returncode == 0, sent.stderr

        def listed() -> str | None:
            out = cli(amqp_url, "dead", "list").stdout
            return out if "1 dead letter(s)" in out else None

        listing = wait_until(listed, within=30)
        assert "reject-1" in listing and "oncor_unavailable" in listing
        shown = json.loads(cli(amqp_url, "dead", "show", "reject-1").stdout)
        assert shown["reason"] == "oncor_unavailable" and shown["routing_key"] == "order.reject"
        assert "1 dead letter(s)" in cli(amqp_url, "dead", "list").stdout  # reading kept it

        admin_http.delete("faults")
        replayed = cli(amqp_url, "dead", "replay", "--all")
        assert "1 replayed" in replayed.stdout, replayed.stderr
        wait_until(
            lambda: admin_http.get("documents", params={"order_id": order_id[1:]}).json(), within=30
        )
    assert "0 dead letter(s)" in cli(amqp_url, "dead", "list").stdout
    assert len(admin_http.get("documents", params={"order_id": order_id[1:]}).json()) == 1


def test_watch_prints_a_line_per_event(
    emulator: EmulatorProcess, amqp_url: str, admin_http: httpx.Client, tmp_path: Path
) -> None:
    order_id = new_order(admin_http)
    with (
        consumer(emulator, amqp_url, tmp_path / "adapter.log"),
        adapter_process({"DEZO_AMQP_URL": amqp_url}, tmp_path / "watch.out", "watch"),
    ):
        time.sleep(1.5)  # let `watch` bind its queue before the event is published
        sent = cli(
            amqp_url,
            "send",
            "associate-dicom",
            "--order",
            order_id,
            "--ris-dicom",
            "https://ris.example.org/study/1",
            "--id",
            "dicom-1",
        )
        assert sent.returncode == 0, sent.stderr
        line = wait_until(
            lambda: next(
                (
                    text
                    for text in (tmp_path / "watch.out").read_text().splitlines()
                    if "command.succeeded.order.associate-dicom" in text
                ),
                None,
            ),
            within=30,
        )
    assert order_id in line


async def test_the_tools_take_a_list_of_nodes_and_use_one_that_answers(amqp_url: str) -> None:
    adapter = Bus(amqp_url)  # declares the topology, as the adapter would have
    await adapter.connect()
    await adapter.close()
    parts = urlsplit(amqp_url)
    dead = parts._replace(netloc=f"{parts.username}:{parts.password}@127.0.0.1:{free_port()}")
    # the dead node first or second, whatever each run's shuffle makes of it
    nodes = f"{urlunsplit(dead)},{parts.hostname}:{parts.port}"
    result = await asyncio.to_thread(cli, nodes, "dead", "list")
    assert result.returncode == 0, result.stderr
    assert "0 dead letter(s)" in result.stdout


SEND = ("send", "associate-dicom", "--order", "1930", "--ris-dicom", "https://ris.example/1")


@pytest.mark.parametrize(
    "tool", [SEND, ("watch",), ("dead", "list")], ids=["send", "watch", "dead"]
)
def test_the_tools_name_a_bad_node_entry_without_its_secret(tool: tuple[str, ...]) -> None:
    result = cli("amqp://dezo:s3cret@rabbit-0:5672/,dezo:s3cret@rabbit-1", *tool, timeout=20)
    assert result.returncode == 2
    assert "DEZO_AMQP_URL: entry 2 (rabbit-1): must be host[:port] or a full URL" in result.stderr
    assert "s3cret" not in result.stderr
