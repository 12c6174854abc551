"""A private RabbitMQ node from the installed server binaries: for the demo, and for tests that
need brokers of their own (give several nodes one `cookie` and `join_cluster` makes a cluster;
`kill` and `start` again crash and restart one, its data kept).

Everything a node owns lives under one temporary directory: its Erlang cookie (as `$HOME`),
data, logs, `rabbitmq.conf`, `enabled_plugins` and `rabbitmq-env.conf`. Pointing every one of
them there keeps `/etc/rabbitmq` (whose listener is 5672) and the `rabbitmq` user's cookie out
of it, so a node already running on the machine is neither read nor disturbed: ours has its own
name, AMQP port and distribution port, all on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

#: Debian's /usr/sbin/rabbitmq* link to this script, which re-runs the real one as the
#: `rabbitmq` user (its cookie, /var/lib/rabbitmq) or refuses anyone but root.
DEBIAN_WRAPPER = "rabbitmq-script-wrapper"
LOOPBACK = "127.0.0.1"


class NodeStartError(RuntimeError):
    """The node did not come up; the message ends with the last lines of its log."""


@dataclass(frozen=True)
class RabbitMQInstall:
    """The server and CLI scripts of an installed RabbitMQ."""

    server: Path
    ctl: Path


def find_rabbitmq(search_path: str | None = None) -> RabbitMQInstall | None:
    """`rabbitmq-server` and `rabbitmqctl` on `search_path` (default $PATH), or None."""
    found = [shutil.which(name, path=search_path) for name in ("rabbitmq-server", "rabbitmqctl")]
    if None in found:
        return None
    server, ctl = (_unwrapped(Path(script)) for script in found if script is not None)
    return RabbitMQInstall(server=server, ctl=ctl)


def _unwrapped(script: Path) -> Path:
    resolved = script.resolve()
    return resolved.parent / script.name if resolved.name == DEBIAN_WRAPPER else script


class LocalNode:
    """One RabbitMQ node of our own; a context manager that starts it and removes it."""

    def __init__(
        self,
        install: RabbitMQInstall,
        *,
        name: str | None = None,
        cookie: str | None = None,
        erl_args: str = "",
    ) -> None:
        """`erl_args` go to the Erlang VM, e.g. `+S 1:1` to keep several nodes on few cores."""
        self.install = install
        self.name = name or f"dezo-{os.getpid()}-{secrets.token_hex(3)}@localhost"
        self.cookie = cookie or secrets.token_hex(20)
        self.erl_args = erl_args
        self.amqp_port = 0
        self.dist_port = 0
        self.directory: Path | None = None
        self._env: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@{LOOPBACK}:{self.amqp_port}/"

    @property
    def pid(self) -> int | None:
        """The server script's pid, which is also the process group of the Erlang VM."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 60.0) -> None:
        """Start the node and return once it accepts AMQP connections. After `kill` it starts
        again with its data, name and ports, so it rejoins its cluster."""
        try:
            if self.directory is None:
                self.directory = Path(tempfile.mkdtemp(prefix="dezo-rabbitmq-"))
                self.amqp_port, self.dist_port = _free_ports(2)
                self._env = self._prepare(self.directory)
            with (self.directory / "server.out").open("ab") as output:
                self._process = subprocess.Popen(
                    [str(self.install.server)],
                    env=self._env,
                    cwd=self.directory,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    # Our own process group: a Ctrl-C at the terminal reaches us, and we stop
                    # the node in order, instead of the node dying under the running adapter.
                    start_new_session=True,
                )
            self._wait_until_listening(timeout)
        except BaseException:
            self.stop()
            raise

    def ctl(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """`rabbitmqctl -n <this node> <args>`, with this node's cookie; raises on failure."""
        return subprocess.run(
            [str(self.install.ctl), "-n", self.name, *args],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def join_cluster(self, seed: LocalNode) -> None:
        """Make this running node a member of `seed`'s cluster (both must share the cookie);
        whatever this node held is reset."""
        self.ctl("stop_app")
        self.ctl("reset")
        self.ctl("join_cluster", seed.name)
        self.ctl("start_app")

    def kill(self) -> None:
        """SIGKILL the VM, as a machine dying would: nothing is flushed or handed over. The
        node's files stay, for `start` to bring it back."""
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            _wait_until_gone(process.pid)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the node (SIGTERM: the server script stops the VM cleanly and waits for it),
        kill what is left of it after `timeout`, and remove its directory."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout)
            with contextlib.suppress(ProcessLookupError):
                # the VM, when the script hung or died before it
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            _wait_until_gone(process.pid)
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> LocalNode:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _prepare(self, directory: Path) -> dict[str, str]:
        home = directory / "home"
        home.mkdir()
        cookie = home / ".erlang.cookie"
        cookie.write_text(self.cookie)
        cookie.chmod(0o400)  # Erlang refuses a cookie others can read
        config = directory / "rabbitmq.conf"
        # ours, not /etc/rabbitmq/rabbitmq.conf, whose listener is the system node's 5672
        config.write_text("# the listener and the rest come from the environment\n")
        plugins = directory / "enabled_plugins"
        plugins.write_text("[].\n")  # none: a system-wide management plugin would want 15672
        env_file = directory / "rabbitmq-env.conf"
        env_file.write_text("# empty: the system's file would name this node rabbit@localhost\n")
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("RABBITMQ_", "ERL_"))
        }
        return {
            **inherited,
            "HOME": str(home),  # where Erlang, server and CLI alike, read the cookie
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": LOOPBACK,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": (
                f"-kernel inet_dist_use_interface {{127,0,0,1}} {self.erl_args}".strip()
            ),
            "RABBITMQ_MNESIA_BASE": str(directory / "data"),
            "RABBITMQ_LOG_BASE": str(directory / "log"),
            "RABBITMQ_CONFIG_FILE": str(config),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(directory / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
            "RABBITMQ_CONF_ENV_FILE": str(env_file),
            # an epmd this node has to start listens where the node does
            "ERL_EPMD_ADDRESS": LOOPBACK,
        }

    def _wait_until_listening(self, timeout: float) -> None:
        # RabbitMQ opens its AMQP listener as the last step of booting.
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise NodeStartError(
                    f"RabbitMQ node {self.name} exited with code {self._process.returncode}:\n"
                    + self._log_tail()
                )
            try:
                with socket.create_connection((LOOPBACK, self.amqp_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise NodeStartError(
            f"RabbitMQ node {self.name} did not listen on {self.amqp_port} within {timeout} s:\n"
            + self._log_tail()
        )

    def _log_tail(self, lines: int = 15) -> str:
        assert self.directory is not None
        logs = [self.directory / "server.out", self.directory / "log" / f"{self.name}.log"]
        text = "".join(log.read_text(errors="replace") for log in logs if log.exists())
        return "\n".join(text.splitlines()[-lines:])


def _free_ports(count: int) -> list[int]:
    """Ports nothing listens on now, all different (held open together while choosing)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind((LOOPBACK, 0))
        return [int(probe.getsockname()[1]) for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


def _wait_until_gone(group: int, within: float = 5.0) -> None:
    """Return once no process of `group` is left (a killed VM is reaped by init)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


class LocalCluster:
    """Nodes of one RabbitMQ cluster on this machine: started together, each joined to the
    first, stopped and removed together; a context manager like `LocalNode`."""

    def __init__(self, install: RabbitMQInstall, size: int = 3, *, erl_args: str = "") -> None:
        cookie = secrets.token_hex(20)  # one cookie: Erlang nodes only talk to their own kind
        self.nodes = [LocalNode(install, cookie=cookie, erl_args=erl_args) for _ in range(size)]

    @property
    def amqp_url(self) -> str:
        """Every node, as DEZO_AMQP_URL lists them: the first a full URL, then host:port."""
        first, *others = self.nodes
        return ",".join([first.amqp_url, *(f"{LOOPBACK}:{node.amqp_port}" for node in others)])

    def node_on(self, amqp_port: int) -> LocalNode:
        return next(node for node in self.nodes if node.amqp_port == amqp_port)

    def ctl(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """`rabbitmqctl` on the first running node."""
        node = next(node for node in self.nodes if node.running)
        return node.ctl(*args, timeout=timeout)

    def start(self, timeout: float = 90.0) -> None:
        try:
            # In parallel: a node takes seconds of mostly waiting to boot.
            with ThreadPoolExecutor(len(self.nodes)) as pool:
                list(pool.map(lambda node: node.start(timeout), self.nodes))
            for node in self.nodes[1:]:
                node.join_cluster(self.nodes[0])
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda node: node.stop(), self.nodes))

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
