"""Three adapter replicas (both roles) through a storm: broker connections closed every few
seconds, the broker restarted, ONCOR answering 5xx, hanging past the read timeout, applying
writes whose answer is then lost (cut, or a gateway's 504) and losing writes before applying
them; replicas SIGKILLed and SIGTERMed and started again; one command in ten published twice at
once, and one in ten published again after every replica restarted. Afterwards nothing is lost
and nothing is done twice:

- every order is announced at least once and marked `Обработка началась` exactly once;
- every command has exactly one outcome event id, whichever copy and replica answered it;
- ONCOR holds at most one document per order and kind, and every outcome agrees with ONCOR;
- no command is left in `dezo.commands` or a retry queue; every dead letter says why.

Stopping the broker affects every vhost on it for a few seconds, so this lives in a module of its
own and always starts the broker again.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from adapter.bus.topology import COMMANDS_OWNER_QUEUE, DEAD_QUEUE, TopologySettings
from adapter.emulator.process import EmulatorProcess
from tests.chaos.support import (
    ChaosBus,
    Replica,
    command_message,
    commands_for,
    document_key,
    outcomes_disagreeing_with_oncor,
    queue_depths,
    started_marks,
    vhost_of,
)
from tests.support.broker import Broker
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.processes import adapter_env

ORDERS = 240  # created in batches while the storm goes on
BATCH = 20
BATCH_EVERY = 2.0  # seconds: orders keep coming for the whole storm
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
READ_TIMEOUT = 2.0
CONNECT_TIMEOUT = 1.0
# On every call, writes included. A hang outlasts the read timeout: the write lands after the
# adapter gave up on it, and must be found, not repeated.
FAULTS = {
    "error_rate": 0.10,
    "timeout_rate": 0.02,
    "timeout_seconds": READ_TIMEOUT + 0.5,
    "drop_rate": 0.03,  # applied, answer cut
    "gateway_timeout_rate": 0.02,  # applied, answered 504
    "drop_before_rate": 0.02,  # not applied, connection cut
    "latency_ms": 5,
}
SETTINGS: dict[str, object] = {
    "poll_interval": 0.5,
    "oncor_connect_timeout": CONNECT_TIMEOUT,
    "oncor_read_timeout": READ_TIMEOUT,
    "oncor_search_ready_timeout": 10,
    "command_retry_delays": f"[{', '.join(map(str, RETRY_DELAYS))}]",
    "command_prefetch": 16,
    "shutdown_grace": 10,
}
DUPLICATE_EVERY = 10  # this command of every ten is published twice at once
RESEND_EVERY = 10  # and this one again after every replica restarted
QUIET_WITHIN = 90.0  # seconds after the storm for everything to settle


class Storm:
    """The scripted failures, each at its second after the start."""

    def __init__(
        self, broker: Broker, vhost: str, admin: EmulatorAdmin, replicas: list[Replica]
    ) -> None:
        self.broker = broker
        self.vhost = vhost
        self.admin = admin
        self.a, self.b, self.c = replicas
        self.log: list[str] = []

    async def run(self) -> None:
        script: list[tuple[float, Callable[[], Awaitable[None]]]] = [
            (1, self.oncor_faults),
            (3, self.close_connections),
            (6, self.kill_a),
            (7, self.close_connections),
            (8, self.restart_a),
            (11, self.close_connections),
            (13, self.restart_broker),
            (17, self.kill_c),
            (19, self.restart_c),
            (20, self.close_connections),
            (22, self.terminate_and_restart_b),
            (26, self.close_connections),
            (29, self.close_connections),
            (32, self.oncor_heals),
        ]
        started = time.monotonic()
        for at, action in script:
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            await action()
            self.log.append(f"{time.monotonic() - started:5.1f}s {action.__name__}")

    async def oncor_faults(self) -> None:
        await self.admin.faults(**FAULTS)

    async def oncor_heals(self) -> None:
        await self.admin.clear_faults()

    async def close_connections(self) -> None:
        # This vhost only: other tests may be using the same broker.
        await asyncio.to_thread(self.broker.ctl, "close_all_connections", "-p", self.vhost, "chaos")

    async def kill_a(self) -> None:
        await asyncio.to_thread(self.a.kill)

    async def restart_a(self) -> None:
        self.a.start()
        await asyncio.to_thread(self.a.wait_until_consuming)

    async def kill_c(self) -> None:
        await asyncio.to_thread(self.c.kill)

    async def restart_c(self) -> None:
        self.c.start()
        await asyncio.to_thread(self.c.wait_until_consuming)

    async def restart_broker(self) -> None:
        try:
            await asyncio.to_thread(self.broker.ctl, "stop_app")
            await asyncio.sleep(3)
        finally:
            await asyncio.to_thread(self.broker.ctl, "start_app")
            await asyncio.to_thread(self.broker.ctl, "await_startup")

    async def terminate_and_restart_b(self) -> None:
        code = await asyncio.to_thread(self.b.terminate)
        self.log.append(f"b stopped gracefully with exit code {code}")
        self.b.start()
        await asyncio.to_thread(self.b.wait_until_consuming)


class Sender:
    """Sends each order's commands once the order is announced and marked, as the expert centre
    would; a publish left unconfirmed is not repeated at once (the broker may have it: a copy
    would be a second command with the same id), but once everything is quiet, if it never had
    an outcome.

    Not before the mark: a document sets the order's status, after which the order no longer
    matches the publisher's search, so an order whose mark had failed would never be marked.
    """

    def __init__(self, bus: ChaosBus, admin: EmulatorAdmin, created: list[str]) -> None:
        self.bus = bus
        self.admin = admin
        self.created = created
        self.sent: dict[str, str] = {}  # command id -> command
        self.data: dict[str, dict[str, object]] = {}  # command id -> its data
        self.duplicated = 0
        self.unconfirmed: dict[str, tuple[str, dict[str, object]]] = {}
        self.resent = 0
        self.commanded: set[str] = set()

    async def run(self, orders: int) -> None:
        while len(self.commanded) < orders:
            marked = {order["id"] for order in await self.admin.orders() if started_marks(order)}
            for index, order_id in enumerate(list(self.created)):
                if order_id in self.commanded or order_id not in marked:
                    continue
                if not self.bus.seen.announced[order_id]:
                    continue
                self.commanded.add(order_id)
                for command, data in commands_for(index, order_id):
                    await self.send(command, data)
            await asyncio.sleep(0.3)

    async def send(self, command: str, data: dict[str, object]) -> None:
        command_id, message = command_message(command, data)
        self.sent[command_id] = command
        self.data[command_id] = data
        if not await self.bus.publish(message, command):
            self.unconfirmed[command_id] = (command, data)
        if len(self.sent) % DUPLICATE_EVERY == 0:  # a publisher that resent after a lost confirm
            _, copy = command_message(command, data, command_id)
            self.duplicated += await self.bus.publish(copy, command)

    async def resend_some(self) -> list[str]:
        """Publish again one command in RESEND_EVERY: a sender replaying its log a day later."""
        again = list(self.sent)[::RESEND_EVERY]
        for command_id in again:
            _, message = command_message(self.sent[command_id], self.data[command_id], command_id)
            assert await self.bus.publish(message, self.sent[command_id])
        return again

    async def resend_lost(self) -> None:
        """Publish again the unconfirmed commands that never had an outcome (the broker did
        not have them after all); nothing else is in flight, so no copy can race them."""
        for command_id, (command, data) in list(self.unconfirmed.items()):
            if self.bus.seen.outcome_ids.get(command_id):
                continue
            _, message = command_message(command, data, command_id)
            if await self.bus.publish(message, command):
                del self.unconfirmed[command_id]
                self.resent += 1


async def create_orders(admin: EmulatorAdmin, created: list[str]) -> None:
    for _ in range(ORDERS // BATCH):
        created += await admin.new_orders(BATCH)
        await asyncio.sleep(BATCH_EVERY)


def command_queues(depths: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """The queues commands go through (not the ownership token's)."""
    return {
        name: depth
        for name, depth in depths.items()
        if name.startswith("dezo.commands") and name != COMMANDS_OWNER_QUEUE
    }


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_a_storm_of_failures_loses_nothing_and_does_nothing_twice(
    emulator: EmulatorProcess, amqp_url: str, broker: Broker, tmp_path: Path
) -> None:
    began = time.monotonic()
    vhost = vhost_of(amqp_url)
    admin = EmulatorAdmin(emulator)
    topology = TopologySettings(
        retry_delays=RETRY_DELAYS,
        handover_delay=CONNECT_TIMEOUT + READ_TIMEOUT,
    )
    bus = await ChaosBus.connect(amqp_url, topology)
    env = adapter_env(emulator, amqp_url, **SETTINGS)
    replicas = [Replica(name, env, tmp_path) for name in ("a", "b", "c")]
    storm = Storm(broker, vhost, admin, replicas)
    created: list[str] = []
    sender = Sender(bus, admin, created)
    try:
        for replica in replicas:
            replica.start()
        await asyncio.gather(*(asyncio.to_thread(r.wait_until_consuming) for r in replicas))
        sending = asyncio.create_task(sender.run(ORDERS))
        await asyncio.gather(storm.run(), create_orders(admin, created))
        storm_over = time.monotonic()

        # Quiet: every order announced and marked, every command answered, no queue busy.
        deadline = storm_over + QUIET_WITHIN
        while True:
            orders = {order["id"]: order for order in await admin.orders()}
            depths = command_queues(await asyncio.to_thread(queue_depths, broker, vhost))
            busy = {name: d for name, d in depths.items() if name != DEAD_QUEUE and any(d)}
            unmarked = [id_ for id_ in created if not started_marks(orders[id_])]
            unannounced = [id_ for id_ in created if not bus.seen.announced[id_]]
            unanswered = [id_ for id_ in sender.sent if not bus.seen.outcome_ids.get(id_)]
            if sending.done() and not busy and set(unanswered) <= set(sender.unconfirmed):
                await sender.resend_lost()
                unanswered = [id_ for id_ in sender.sent if not bus.seen.outcome_ids.get(id_)]
            if sending.done() and not (busy or unmarked or unannounced or unanswered):
                break
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not quiet {QUIET_WITHIN:.0f} s after the storm: {len(unannounced)} orders"
                    f" unannounced, {len(unmarked)} unmarked, {len(unanswered)} commands without"
                    f" outcome, busy queues {busy}, sender done {sending.done()}; logs in"
                    f" {tmp_path}"
                )
            await asyncio.sleep(1)
        quiet = time.monotonic()
        await sending
        # Every replica restarted, then a tenth of the commands sent again: each is answered
        # from ONCOR with the outcome it had, and writes nothing.
        documents_before = len(await admin.documents())
        outcomes_before = {id_: set(ids) for id_, ids in bus.seen.outcome_ids.items()}
        for replica in replicas:
            await asyncio.to_thread(replica.terminate)
            replica.start()
        await asyncio.gather(*(asyncio.to_thread(r.wait_until_consuming) for r in replicas))
        answers_before = Counter(bus.seen.answers)
        resent = await sender.resend_some()
        deadline = time.monotonic() + QUIET_WITHIN
        while any(bus.seen.answers[id_] == answers_before[id_] for id_ in resent):
            assert time.monotonic() < deadline, f"resent commands not answered; logs in {tmp_path}"
            await asyncio.sleep(0.5)
        assert len(await admin.documents()) == documents_before
        assert {id_: bus.seen.outcome_ids[id_] for id_ in resent} == {
            id_: outcomes_before[id_] for id_ in resent
        }
        depths = command_queues(await asyncio.to_thread(queue_depths, broker, vhost))
    finally:
        for replica in replicas:
            await asyncio.to_thread(replica.terminate)
        await admin.clear_faults()

    dead = await bus.dead_letters()
    documents = await admin.documents()
    calls = await admin.calls()
    server_errors = sum(1 for call in calls if (call["status"] or 0) >= 500)
    await bus.close()
    await admin.close()

    marks = Counter(started_marks(orders[id_]) for id_ in created)
    announcements = sum(bus.seen.announced[id_] for id_ in created)
    outcomes_per_command = Counter(len(bus.seen.outcome_ids[id_]) for id_ in sender.sent)
    outcome_deliveries = sum(bus.seen.outcome_deliveries.values())
    per_document = Counter(document_key(document) for document in documents)
    reasons = Counter(
        str(letter.get("x-dezo-reason") or letter.get("x-first-death-reason")) for letter in dead
    )
    print(
        f"\nchaos: {len(created)} orders, {len(sender.sent)} commands"
        f" ({len(sender.unconfirmed) + sender.resent} publishes unconfirmed, {sender.resent}"
        f" sent again, {sender.duplicated} published twice at once, {len(resent)} again after"
        f" a restart of every replica); storm {storm_over - began:.0f} s, quiet after"
        f" {quiet - storm_over:.0f} s, {time.monotonic() - began:.0f} s in all\n"
        f"  {' | '.join(storm.log)}\n"
        f"  ONCOR: {len(calls)} calls, {server_errors} answered 5xx\n"
        f"  orders: announced {announcements} times (unique {len(created)}), marks per order"
        f" {dict(marks)}\n"
        f"  outcomes: {dict(bus.seen.outcome_kinds)}; distinct outcomes per command"
        f" {dict(outcomes_per_command)}; {outcome_deliveries} deliveries of"
        f" {len(bus.seen.outcome_deliveries)} outcome events\n"
        f"  documents: {len(documents)} for {len(per_document)} (order, kind) pairs; dead"
        f" letters {dict(reasons)}; queues {depths}"
    )
    assert not [id_ for id_ in created if not bus.seen.announced[id_]]
    twice = [id_ for id_ in created if started_marks(orders[id_]) != 1]
    assert marks == {1: len(created)}, f"marks per order: {marks}, e.g. {twice[:5]}"
    assert outcomes_per_command == {1: len(sender.sent)}, outcomes_per_command
    assert max(per_document.values()) == 1, [key for key, n in per_document.items() if n > 1]
    disagreeing = outcomes_disagreeing_with_oncor(bus.seen.outcomes, documents, orders)
    assert not disagreeing, disagreeing
    assert all(depth == (0, 0) for name, depth in depths.items() if name != DEAD_QUEUE), depths
    assert all(
        letter.get("x-dezo-reason") or letter.get("x-first-death-reason") for letter in dead
    ), dead
