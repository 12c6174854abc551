"""A private RabbitMQ node: found behind Debian's wrapper scripts, reachable by `rabbitmqctl -n`
with its own cookie, beside the machine's node, and gone with its files once stopped."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from adapter.local_broker import DEBIAN_WRAPPER, LocalNode, find_rabbitmq


def test_debian_wrappers_are_bypassed_for_the_scripts_they_wrap(tmp_path: Path) -> None:
    # Debian: /usr/sbin/rabbitmq-server -> /usr/lib/rabbitmq/bin/rabbitmq-script-wrapper, which
    # su's to the `rabbitmq` user; the real scripts sit beside the wrapper.
    real, sbin = tmp_path / "lib" / "rabbitmq" / "bin", tmp_path / "sbin"
    real.mkdir(parents=True)
    sbin.mkdir()
    for name in (DEBIAN_WRAPPER, "rabbitmq-server", "rabbitmqctl"):
        (real / name).write_text("#!/bin/sh\n")
        (real / name).chmod(0o755)
    for name in ("rabbitmq-server", "rabbitmqctl"):
        (sbin / name).symlink_to(real / DEBIAN_WRAPPER)

    install = find_rabbitmq(str(sbin))

    assert install is not None
    assert install.server == real.resolve() / "rabbitmq-server"
    assert install.ctl == real.resolve() / "rabbitmqctl"


def test_without_the_scripts_on_the_path_there_is_no_install(tmp_path: Path) -> None:
    assert find_rabbitmq(str(tmp_path)) is None


@pytest.mark.skipif(find_rabbitmq() is None, reason="rabbitmq-server is not on PATH")
def test_private_node_answers_rabbitmqctl_and_leaves_nothing_behind() -> None:
    install = find_rabbitmq()
    assert install is not None
    node = LocalNode(install)
    with node:
        directory, group = node.directory, node.pid
        assert directory is not None and group is not None
        assert node.name.endswith("@localhost") and not node.name.startswith("rabbit@")
        assert 5672 not in (node.amqp_port, node.dist_port)
        assert node.name in node.ctl("status").stdout
        assert node.cookie == (directory / "home" / ".erlang.cookie").read_text()

    assert not directory.exists()
    with pytest.raises(ProcessLookupError):
        os.killpg(group, 0)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", node.amqp_port), timeout=1).close()
