"""The README's integration examples, run as written against a real adapter, so they cannot rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from adapter.emulator.process import EmulatorProcess
from tests.support.broker import Broker
from tests.support.processes import ROOT, adapter_env, adapter_process, wait_until_ready

_EXAMPLE = re.compile(r"<!-- example: (?P<name>[\w-]+) -->\s*```python\n(?P<code>.*?)```", re.S)


def readme_examples() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return {match["name"]: match["code"] for match in _EXAMPLE.finditer(text)}


def test_readme_has_both_integration_examples() -> None:
    assert set(readme_examples()) == {"order-consumer", "conclusion-producer"}


def test_readme_consumer_sees_new_orders_and_producer_gets_its_conclusion_done(
    emulator: EmulatorProcess, amqp_url: str, broker: Broker, tmp_path: Path
) -> None:
    examples = readme_examples()
    for name, code in examples.items():
        (tmp_path / f"{name}.py").write_text(code, encoding="utf-8")
    env = {**os.environ, "AMQP_URL": amqp_url}
    adapter = adapter_env(emulator, amqp_url)
    vhost = amqp_url.rsplit("/", 1)[1]
    with (
        adapter_process(adapter, tmp_path / "adapter.log"),
        (tmp_path / "consumer.out").open("wb") as consumer_out,
        subprocess.Popen(
            [sys.executable, str(tmp_path / "order-consumer.py")], env=env, stdout=consumer_out
        ) as consumer,
    ):
        try:
            wait_until_ready(adapter)
            deadline = time.monotonic() + 30
            while "my-service.orders" not in broker.ctl("list_queues", "-p", vhost, "name"):
                assert time.monotonic() < deadline, "the example consumer declared no queue"
                time.sleep(0.2)
            admin = httpx.Client(base_url=emulator.base_url + "/admin/")
            order_ids = admin.post("orders", json={"count": 2}).json()["ids"]
            while not all(
                f"new order {order_id}" in (tmp_path / "consumer.out").read_text()
                for order_id in order_ids
            ):
                assert time.monotonic() < deadline, "the example consumer saw no new orders"
                time.sleep(0.2)

            (tmp_path / "conclusion.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
            produced = subprocess.run(
                [
                    sys.executable,
                    str(tmp_path / "conclusion-producer.py"),
                    order_ids[0],
                    str(tmp_path / "conclusion.pdf"),
                ],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
        finally:
            consumer.terminate()
    assert produced.returncode == 0, produced.stderr
    assert produced.stdout.startswith("ru.oncor.dezo.command.succeeded.v1"), produced.stdout
    (document,) = admin.get("documents", params={"order_id": order_ids[0][1:]}).json()
    assert document["class_name"] == "RcTm66OrderConclusion"
