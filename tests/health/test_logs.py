"""What the adapter writes to stdout and stderr: JSON lines only, and never the ONCOR token or a
patient's personal data, whatever the orders, the commands (good and bad) and ONCOR's answers."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from adapter.emulator.process import EmulatorProcess
from tests.health.support import (
    BusProbe,
    EmulatorAdmin,
    running_adapter,
)
from tests.support.processes import adapter_env, free_port

EXPERT = "39115-661768-26(20190905)"


def personal_values(patient: dict[str, Any]) -> list[str]:
    """What must not be logged about a patient: names, SNILS, birth date in both notations."""
    born = date.fromisoformat(patient["birth_day"])
    return [
        patient["first_name"],
        patient["middle_name"],
        patient["last_name"],
        patient["snils"],
        born.isoformat(),
        born.strftime("%d.%m.%Y"),
    ]


def occurrences(value: str, lines: list[str]) -> list[str]:
    """Log lines holding `value` as a whole word (a short first name may be part of a word)."""
    pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)")
    return [line for line in lines if pattern.search(line)]


def send_garbage_to(port: int) -> None:
    """Something that is not HTTP, to the operations port: its server logs a complaint."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        connection.recv(1024)


async def commands_good_and_bad(
    probe: BusProbe, order_id: str, patient: dict[str, Any]
) -> list[str]:
    """One good command and several bad ones, some carrying the patient's data in free text;
    returns the ids of those that must get an outcome."""
    about_patient = (
        f"{patient['last_name']} {patient['first_name']} {patient['middle_name']}, "
        f"СНИЛС {patient['snils']}, д.р. {patient['birth_day']}"
    )
    ids = [
        await probe.associate_dicom(order_id),
        # a reason ONCOR's dictionary does not list
        await probe.send(
            "order.reject",
            {
                "order_id": order_id,
                "reason_code": "NOT_A_REASON",
                "description": about_patient,
                "expert_id": EXPERT,
            },
        ),
        # a schema violation: no expert
        await probe.send(
            "order.expertise-protocol",
            {"order_id": order_id, "result_code": "НАРУШЕНИЙ_НЕТ", "description": about_patient},
        ),
        # an order ONCOR does not know: ONCOR answers 422
        await probe.associate_dicom("#1930:999999"),
    ]
    # not JSON at all, with the patient in it
    await probe.send("order.reject", {}, body=about_patient.encode())
    # JSON, but not a CloudEvent
    await probe.send("order.reject", {}, body=json.dumps({"patient": about_patient}).encode())
    return ids


@pytest.mark.timeout(60)
async def test_logs_are_json_lines_without_the_token_or_patient_data(
    emulator: EmulatorProcess, amqp_url: str, tmp_path: Path
) -> None:
    admin = EmulatorAdmin(emulator)
    seeded = await admin.add_orders(3)
    patients = [await admin.patient(patient_id) for patient_id in seeded["patient_ids"]]
    log_path = tmp_path / "adapter.log"
    probe = BusProbe(amqp_url)
    port = free_port()

    async with running_adapter(
        adapter_env(emulator, amqp_url, http_port=port, log_level="DEBUG"), log_path
    ) as adapter:
        await adapter.ready()
        await probe.bind_events()  # order.received is routable from now on: orders get marked

        async def all_marked() -> bool:
            return all(
                [(await admin.order(order))["status"] is not None for order in seeded["ids"]]
            )

        await adapter.until("orders marked", all_marked, within=20)
        for command_id in await commands_good_and_bad(probe, seeded["ids"][0], patients[0]):
            await probe.outcome(command_id)
        await asyncio.to_thread(send_garbage_to, port)
        code, _ = await adapter.terminate(within=15)
        assert code == 0

    # The same, with a token ONCOR refuses: every call is answered 401.
    wrong_token = f"wrong-{uuid.uuid4().hex}"
    async with running_adapter(
        adapter_env(
            emulator, amqp_url, http_port=free_port(), oncor_token=wrong_token, log_level="DEBUG"
        ),
        log_path,
    ) as adapter:

        async def refused_a_few_times() -> bool:
            refusals = [call for call in await admin.calls() if call["status"] == 401]
            return len(refusals) >= 3

        await adapter.until("ONCOR refused the token", refused_a_few_times, within=20)
        code, _ = await adapter.terminate(within=15)
        assert code == 0
    await admin.close()

    lines = log_path.read_text().splitlines()
    assert len(lines) > 20
    for line in lines:
        assert isinstance(json.loads(line), dict), line
    assert any('"level": "error"' in line or '"level": "warning"' in line for line in lines)
    secrets = [emulator.token, wrong_token]
    for patient in patients:
        secrets += personal_values(patient)
    leaks = {value: occurrences(value, lines) for value in secrets}
    assert {value: found for value, found in leaks.items() if found} == {}
