"""`dezo-adapter`: the command line of the adapter and its ONCOR emulator."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from adapter.bus.address import broker_urls
from adapter.config import DEFAULT_AMQP_URL, ConfigError, load_settings
from adapter.emulator.arguments import add_arguments as add_emulator_arguments
from adapter.tools import ToolError
from adapter.tools.send_arguments import add_send_parser


def _run(args: argparse.Namespace) -> int:
    from adapter.runner import ALL_ROLES, run

    settings = load_settings()
    roles = [args.role] if args.role else list(ALL_ROLES)
    asyncio.run(run(settings, roles))
    return 0


def _emulator(args: argparse.Namespace) -> int:
    from adapter.emulator.arguments import options_from
    from adapter.emulator.server import serve

    serve(options_from(args))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from adapter.demo import run_demo
    from adapter.demo_broker import NoBroker

    try:
        run_demo(orders=args.orders, port=args.port)
    except NoBroker as exc:
        print(f"dezo-adapter: {exc}", file=sys.stderr)
        return 2
    return 0


def _schemas_export(args: argparse.Namespace) -> int:
    from adapter.contracts.export import differences, export

    if args.check:
        stale = differences(args.out)
        for relative in stale:
            print(f"out of date: {args.out / relative}", file=sys.stderr)
        return 1 if stale else 0
    for path in export(args.out):
        print(f"wrote {path}")
    return 0


def _amqp_url() -> str:
    """The broker the tools talk to: DEZO_AMQP_URL, like the adapter itself (one URL or a
    list of nodes, checked the same way)."""
    value = os.environ.get("DEZO_AMQP_URL", DEFAULT_AMQP_URL)
    try:
        broker_urls(value)
    except ValueError as exc:
        raise ConfigError(f"DEZO_AMQP_URL: {exc}") from None
    return value


def _send(args: argparse.Namespace) -> int:
    from adapter.tools.send import send

    return asyncio.run(send(_amqp_url(), args))


def _watch(args: argparse.Namespace) -> int:
    from adapter.tools.watch import watch_events

    asyncio.run(watch_events(_amqp_url(), asyncio.Event()))
    return 0


def _dead(args: argparse.Namespace) -> int:
    from adapter.tools.dead_letters import run_dead_command

    return asyncio.run(run_dead_command(_amqp_url(), args))


def _order(args: argparse.Namespace) -> int:
    from adapter.oncor.errors import OncorError
    from adapter.runner import build_oncor_client
    from adapter.tools.order_show import order_show

    settings = load_settings()

    async def show() -> int:
        async with build_oncor_client(settings, lambda *_: None) as oncor:
            return await order_show(settings, oncor, args.orid, as_json=args.json, limit=args.limit)

    try:
        return asyncio.run(show())
    except OncorError as exc:  # ONCOR away or refusing the token: nothing to show
        print(f"dezo-adapter: ONCOR: {exc}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dezo-adapter", description="ONCOR DEZO orders <-> RabbitMQ adapter"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="run the adapter against ONCOR and RabbitMQ configured by DEZO_* variables"
    )
    run.add_argument("--role", choices=["publisher", "consumer"], help="run only one role")
    run.set_defaults(handler=_run)

    emulator = commands.add_parser("emulator", help="serve the ONCOR emulator (API + /admin/)")
    add_emulator_arguments(emulator)
    emulator.set_defaults(handler=_emulator)

    demo = commands.add_parser(
        "demo",
        help="the emulator and the adapter together, on a RabbitMQ it starts if need be",
        description="Runs on DEZO_AMQP_URL when set, else on the local RabbitMQ"
        " (127.0.0.1:5672) when it answers, else on a private RabbitMQ node (rabbitmq-server"
        " installed) or container (Docker) it starts and removes on exit.",
    )
    demo.add_argument("--orders", type=int, default=5, help="sample orders in the emulator")
    demo.add_argument("--port", type=int, default=8080, help="the emulator's port")
    demo.set_defaults(handler=_demo)

    add_send_parser(commands)
    commands.choices["send"].set_defaults(handler=_send)

    watch = commands.add_parser("watch", help="print events on dezo.events as they arrive")
    watch.set_defaults(handler=_watch)

    dead = commands.add_parser("dead", help="list, show and replay dead-lettered commands")
    dead_commands = dead.add_subparsers(dest="dead_command", required=True)
    listing = dead_commands.add_parser("list", help="one line per dead letter")
    listing.add_argument("--reason", help="only those dead-lettered for this reason")
    shown = dead_commands.add_parser("show", help="headers and body of one dead letter")
    shown.add_argument("id", help="command id (or AMQP message id)")
    replayed = dead_commands.add_parser(
        "replay", help="publish dead letters to dezo.commands again, then remove them"
    )
    which = replayed.add_mutually_exclusive_group(required=True)
    which.add_argument("ids", nargs="*", default=[], help="command ids to replay")
    which.add_argument("--all", action="store_true", help="every dead letter (see --reason)")
    replayed.add_argument("--reason", help="only those dead-lettered for this reason")
    for sub in (listing, shown, replayed):
        sub.add_argument("--limit", type=int, default=1000, help="dead letters examined at most")
    dead.set_defaults(handler=_dead)

    order = commands.add_parser("order", help="what ONCOR and the broker hold for one order")
    order_commands = order.add_subparsers(dest="order_command", required=True)
    shown_order = order_commands.add_parser(
        "show",
        help="an order's fields, status history, documents and dead letters (read-only)",
        description="Asks ONCOR (DEZO_ONCOR_URL, DEZO_ONCOR_TOKEN) and, when it answers, the "
        "broker (DEZO_AMQP_URL). Exit code 2 for a bad or unknown order id.",
    )
    shown_order.add_argument("orid", help="the order's ONCOR id, e.g. '#1930:0'")
    shown_order.add_argument("--json", action="store_true", help="JSON for scripts")
    shown_order.add_argument(
        "--limit", type=int, default=1000, help="dead letters examined at most"
    )
    order.set_defaults(handler=_order)

    schemas = commands.add_parser("schemas", help="the bus contract: AsyncAPI and JSON Schemas")
    schema_commands = schemas.add_subparsers(dest="schemas_command", required=True)
    export = schema_commands.add_parser(
        "export", help="generate schemas/ (asyncapi.yaml, JSON Schemas, examples) from the code"
    )
    export.add_argument("--out", type=Path, default=Path("schemas"), help="target directory")
    export.add_argument(
        "--check", action="store_true", help="write nothing; fail if schemas/ is out of date"
    )
    export.set_defaults(handler=_schemas_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (ConfigError, ToolError) as exc:
        print(f"dezo-adapter: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
