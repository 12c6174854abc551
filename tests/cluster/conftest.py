"""Three RabbitMQ nodes of one cluster on this machine, for the tests of node loss."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapter.local_broker import LocalCluster, find_rabbitmq

# One scheduler thread per node: three Erlang VMs on a machine of two cores would otherwise each
# spin up a scheduler per core and busy-wait on them, starving the adapters under test. And the
# dead-letter worker's resend interval the README recommends (RabbitMQ cluster): a command whose
# hand-over delay ends while dezo.commands elects a leader is sent on after 10 s, not 3 minutes.
NODE_ERL_ARGS = (
    "+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none"
    " -rabbit dead_letter_worker_publisher_confirm_timeout 10000"
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    install = find_rabbitmq()
    if install is None:
        pytest.skip(
            "no RabbitMQ server binaries (rabbitmq-server, rabbitmqctl) on PATH: the cluster"
            " tests start three nodes of their own"
        )
    with LocalCluster(install, size=3, erl_args=NODE_ERL_ARGS) as started:
        yield started
