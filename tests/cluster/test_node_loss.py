"""Two adapter replicas on a three-node RabbitMQ cluster, given all three addresses, under a
steady flow of orders and commands, while nodes die (SIGKILL) and come back:

1. the node leading the `dezo.commands` quorum queue;
2. the node each replica is connected to, one after the other;
3. two nodes at once, a majority: nothing can be confirmed, so orders stay unmarked and
   outcomes wait, until the nodes return.

Each node is started again before the next loss. Afterwards nothing is lost and nothing is done
twice: every order announced and marked exactly once, one outcome per command, at most one ONCOR
document per order and kind. A replica whose node died is ready again on another node within
seconds, the other replica stays ready throughout, and the poller keeps a leader.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest

from adapter.bus.topology import COMMANDS_QUEUE, TopologySettings
from adapter.emulator.process import EmulatorProcess
from adapter.local_broker import LocalCluster, LocalNode
from tests.chaos.support import (
    ChaosBus,
    Replica,
    document_key,
    outcomes_disagreeing_with_oncor,
    started_marks,
)
from tests.chaos.test_chaos import Sender
from tests.cluster.support import Watch, busy_queues, queue_leader
from tests.support.emulator_admin import EmulatorAdmin
from tests.support.processes import adapter_env

BATCH = 2  # orders created every BATCH_EVERY seconds while nodes die and return
BATCH_EVERY = 1.0
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 2.0
SETTINGS: dict[str, object] = {
    "poll_interval": 0.5,
    "oncor_connect_timeout": CONNECT_TIMEOUT,
    "oncor_read_timeout": READ_TIMEOUT,
    "command_retry_delays": f"[{', '.join(map(str, RETRY_DELAYS))}]",
    "command_prefetch": 16,
    "shutdown_grace": 5,
}
RECOVERY_WITHIN = 20.0  # seconds for a replica to be ready again after its node died
STEADY = 3.0  # seconds of flow between one event and the next
MAJORITY_LOST_FOR = 6.0
QUIET_WITHIN = 60.0


class Script:
    """The node losses, with what the test measured of each."""

    def __init__(self, cluster: LocalCluster, watch: Watch, replicas: list[Replica]) -> None:
        self.cluster = cluster
        self.watch = watch
        self.replicas = replicas
        self.figures: list[str] = []
        self.kills = 0

    async def lose_one(self, node: LocalNode, why: str) -> None:
        """Kill `node`: the replicas on it come back on another, the others stay ready, the
        poller has a leader; then start it again."""
        on_it = [r for r in self.replicas if self.watch.connected_node(r) is node]
        killed = time.monotonic()
        await asyncio.to_thread(node.kill)
        self.kills += 1
        recovered = [
            f"{r.name} ready in {await self.watch.ready_again(r, killed, RECOVERY_WITHIN):.1f} s"
            for r in on_it
        ]
        led = await self._commands_leader_other_than(node, killed)
        await asyncio.sleep(STEADY)  # the flow goes on without the node
        for replica in self.replicas:
            if replica not in on_it:
                assert not self.watch.not_ready(replica, killed, time.monotonic()), (
                    f"{replica.name} was not ready while its own node ({why}) was alive"
                )
        assert self.watch.leaders(since=time.monotonic() - 1), "no poller leader"
        restart = await self._restart(node)
        self.figures.append(
            f"killed {why} ({node.name}): replicas on it {', '.join(recovered) or 'none'};"
            f" dezo.commands led from a live node {led:.1f} s after; node back in {restart:.1f} s"
        )
        await asyncio.sleep(STEADY)

    async def lose_majority(self, admin: EmulatorAdmin, bus: ChaosBus) -> list[str]:
        """Kill two nodes at once: while they are gone nothing is confirmed, so an order found
        meanwhile stays unmarked and no outcome arrives; all of it completes once they return."""
        survivor = queue_leader(self.cluster, COMMANDS_QUEUE)
        lost = [node for node in self.cluster.nodes if node is not survivor]
        killed = time.monotonic()
        await asyncio.gather(*(asyncio.to_thread(node.kill) for node in lost))
        self.kills += len(lost)
        await asyncio.sleep(1)  # what was confirmed before the loss may still arrive
        outcomes_before = sum(bus.seen.answers.values())
        created = await admin.new_orders(BATCH)
        await asyncio.sleep(MAJORITY_LOST_FOR)
        orders = {order["id"]: order for order in await admin.orders()}
        assert not any(started_marks(orders[id_]) for id_ in created), "marked unconfirmed"
        assert sum(bus.seen.answers.values()) == outcomes_before, "an outcome got through"
        restarted = time.monotonic()
        unready = {r.name: len(self.watch.not_ready(r, killed, restarted)) for r in self.replicas}
        await asyncio.gather(*(self._restart(node) for node in lost))
        while not await all_marked(admin, created):
            assert time.monotonic() < restarted + RECOVERY_WITHIN * 2, (
                f"orders found during the loss still unmarked; queues {busy_queues(self.cluster)}"
            )
            await asyncio.sleep(0.25)
        self.figures.append(
            f"killed a majority ({len(lost)} nodes) for {restarted - killed:.1f} s: 0 of"
            f" {len(created)} orders found meanwhile marked, 0 outcomes; nodes back and those"
            f" orders marked {time.monotonic() - restarted:.1f} s after the restart began;"
            f" /readyz false meanwhile in {unready} of the samples"
        )
        return created

    async def _commands_leader_other_than(self, node: LocalNode, since: float) -> float:
        while True:
            leader = await asyncio.to_thread(queue_leader, self.cluster, COMMANDS_QUEUE)
            if leader is not None and leader is not node:
                return time.monotonic() - since
            assert time.monotonic() < since + RECOVERY_WITHIN, "dezo.commands has no leader"
            await asyncio.sleep(0.25)

    async def _restart(self, node: LocalNode) -> float:
        began = time.monotonic()
        await asyncio.to_thread(node.start)
        return time.monotonic() - began


async def all_marked(admin: EmulatorAdmin, ids: list[str]) -> bool:
    orders = {order["id"]: order for order in await admin.orders()}
    return all(started_marks(orders[id_]) for id_ in ids)


async def keep_creating(admin: EmulatorAdmin, created: list[str], stop: asyncio.Event) -> None:
    while not stop.is_set():
        created += await admin.new_orders(BATCH)
        await asyncio.sleep(BATCH_EVERY)


async def keep_commanding(sender: Sender, created: list[str], stop: asyncio.Event) -> None:
    """Commands for every order once it is announced and marked, as the expert centre sends."""
    while not stop.is_set() or len(sender.commanded) < len(created):
        await sender.run(len(created))
        await asyncio.sleep(0.3)


@pytest.mark.timeout(170)
async def test_node_losses_lose_nothing_and_do_nothing_twice(
    cluster: LocalCluster, emulator: EmulatorProcess, tmp_path: Path
) -> None:
    began = time.monotonic()
    admin = EmulatorAdmin(emulator)
    topology = TopologySettings(
        retry_delays=RETRY_DELAYS,
        handover_delay=CONNECT_TIMEOUT + READ_TIMEOUT,
    )
    bus = await ChaosBus.connect(cluster.amqp_url, topology)
    env = adapter_env(emulator, cluster.amqp_url, **SETTINGS)
    replicas = [Replica(name, env, tmp_path) for name in ("a", "b")]
    watch = Watch(cluster, replicas)
    script = Script(cluster, watch, replicas)
    created: list[str] = []
    sender = Sender(bus, admin, created)
    flowing, watching = asyncio.Event(), asyncio.Event()
    try:
        for replica in replicas:
            replica.start()
        await asyncio.gather(*(asyncio.to_thread(r.wait_until_consuming) for r in replicas))
        watcher = asyncio.create_task(watch.run(watching))
        creating = asyncio.create_task(keep_creating(admin, created, flowing))
        commanding = asyncio.create_task(keep_commanding(sender, created, flowing))
        await asyncio.sleep(STEADY)
        started = time.monotonic()

        leader = queue_leader(cluster, COMMANDS_QUEUE)
        assert leader is not None
        await script.lose_one(leader, "the dezo.commands leader")
        for replica in replicas:
            node = watch.connected_node(replica)
            assert node is not None, f"{replica.name} has no broker connection"
            await script.lose_one(node, f"the node of replica {replica.name}")
        during_majority = await script.lose_majority(admin, bus)
        flowing.set()
        await creating
        scripted = time.monotonic()

        deadline = scripted + QUIET_WITHIN
        while True:
            orders = {order["id"]: order for order in await admin.orders()}
            unmarked = [id_ for id_ in created if not started_marks(orders[id_])]
            unannounced = [id_ for id_ in created if not bus.seen.announced[id_]]
            unanswered = [id_ for id_ in sender.sent if not bus.seen.outcome_ids.get(id_)]
            if commanding.done() and set(unanswered) <= set(sender.unconfirmed):
                await sender.resend_lost()
                unanswered = [id_ for id_ in sender.sent if not bus.seen.outcome_ids.get(id_)]
            if commanding.done() and not (unmarked or unannounced or unanswered):
                break
            assert time.monotonic() < deadline, (
                f"not quiet {QUIET_WITHIN:.0f} s after the node losses: {len(unannounced)} orders"
                f" unannounced, {len(unmarked)} unmarked, commands without outcome {unanswered}"
                f" (unconfirmed: {sorted(set(unanswered) & set(sender.unconfirmed))}); queues"
                f" {busy_queues(cluster)}; logs in {tmp_path}"
            )
            await asyncio.sleep(0.5)
        quiet = time.monotonic()
        watching.set()
        await watcher
    finally:
        flowing.set()
        watching.set()
        for replica in replicas:
            await asyncio.to_thread(replica.terminate)

    documents = await admin.documents()
    await admin.close()
    dead = await bus.dead_letters()
    await bus.close()

    marks = Counter(started_marks(orders[id_]) for id_ in created)
    outcomes_per_command = Counter(len(bus.seen.outcome_ids[id_]) for id_ in sender.sent)
    per_document = Counter(document_key(document) for document in documents)
    print(
        f"\ncluster: {len(created)} orders ({len(during_majority)} found during the majority"
        f" loss), {len(sender.sent)} commands ({len(sender.unconfirmed) + sender.resent}"
        f" publishes unconfirmed, {sender.resent} sent again), {script.kills} node kills;"
        f" {started - began:.0f} s to start, {scripted - started:.0f} s of losses, quiet"
        f" {quiet - scripted:.0f} s after\n  "
        + "\n  ".join(script.figures)
        + f"\n  orders: marks per order {dict(marks)}; outcomes per command"
        f" {dict(outcomes_per_command)}; {len(documents)} documents for {len(per_document)}"
        f" (order, kind) pairs; {len(dead)} dead letters; poller leaders seen"
        f" {sorted(watch.leaders(since=began))}"
    )
    assert marks == {1: len(created)}, marks
    assert outcomes_per_command == {1: len(sender.sent)}, outcomes_per_command
    assert max(per_document.values()) == 1, [key for key, n in per_document.items() if n > 1]
    disagreeing = outcomes_disagreeing_with_oncor(bus.seen.outcomes, documents, orders)
    assert not disagreeing, disagreeing
    assert not dead, dead
