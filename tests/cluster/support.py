"""What the cluster test watches: which node each replica is connected to, its /readyz and
whether it leads the poller, sampled a few times a second; and the leader of a quorum queue."""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from adapter.local_broker import LocalCluster, LocalNode
from tests.chaos.support import Replica

SAMPLE_EVERY = 0.25


def queue_leader(cluster: LocalCluster, queue: str) -> LocalNode | None:
    """The node leading a quorum queue, None while it has no leader."""
    listing = cluster.ctl("list_queues", "name", "leader", "--formatter", "json").stdout
    leader = next((row["leader"] for row in json.loads(listing) if row["name"] == queue), None)
    return next((node for node in cluster.nodes if node.name == leader), None)


def busy_queues(cluster: LocalCluster) -> dict[str, tuple[int, int]]:
    """Queues holding messages: (ready, unacknowledged)."""
    listing = cluster.ctl(
        "list_queues", "name", "messages_ready", "messages_unacknowledged", "--formatter", "json"
    ).stdout
    depths = {
        row["name"]: (int(row["messages_ready"]), int(row["messages_unacknowledged"]))
        for row in json.loads(listing)
    }
    return {name: depth for name, depth in depths.items() if any(depth)}


def remote_ports(pid: int) -> set[int]:
    """The remote ports of the process's established TCP connections (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            established = fields[3] == "01"
            if established and fields[9] in inodes:
                ports.add(int(fields[2].rsplit(":", 1)[1], 16))
    return ports


@dataclass
class Sample:
    at: float
    ready: bool
    leads: bool
    nodes: frozenset[str]  # the cluster nodes it has a connection to


@dataclass
class Watch:
    """Samples of every replica, by name, kept while `run` runs."""

    cluster: LocalCluster
    replicas: list[Replica]
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=1) as client:
            while not stop.is_set():
                await asyncio.gather(*(self._sample(client, replica) for replica in self.replicas))
                await asyncio.sleep(SAMPLE_EVERY)

    async def _sample(self, client: httpx.AsyncClient, replica: Replica) -> None:
        base = f"http://127.0.0.1:{replica.http_port}"
        try:
            ready = (await client.get(f"{base}/readyz")).status_code == 200
            metrics = (await client.get(f"{base}/metrics")).text
        except httpx.TransportError:
            ready, metrics = False, ""
        by_port = {node.amqp_port: node.name for node in self.cluster.nodes}
        nodes = frozenset(by_port[port] for port in remote_ports(replica.pid) if port in by_port)
        leads = "\ndezo_poller_leader 1.0" in metrics
        self.samples.setdefault(replica.name, []).append(
            Sample(time.monotonic(), ready, leads, nodes)
        )

    def connected_node(self, replica: Replica) -> LocalNode | None:
        """The node the replica is connected to now (its latest sample)."""
        nodes = self.samples[replica.name][-1].nodes if self.samples.get(replica.name) else ()
        return next((node for node in self.cluster.nodes if node.name in nodes), None)

    async def ready_again(self, replica: Replica, since: float, within: float) -> float:
        """Seconds from `since` until the replica answers ready on a surviving node."""
        deadline = since + within
        while time.monotonic() < deadline:
            latest = self.samples[replica.name][-1]
            if latest.at > since and latest.ready and latest.nodes:
                return latest.at - since
            await asyncio.sleep(SAMPLE_EVERY)
        raise AssertionError(f"{replica.name} not ready within {within} s of a node loss")

    def not_ready(self, replica: Replica, start: float, end: float) -> list[Sample]:
        return [s for s in self.samples[replica.name] if start <= s.at < end and not s.ready]

    def leaders(self, since: float) -> set[str]:
        return {
            name
            for name, samples in self.samples.items()
            for s in samples
            if s.at >= since and s.leads
        }
