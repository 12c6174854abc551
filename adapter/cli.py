"""`dezo-adapter`: the command line of the adapter and its ONCOR emulator."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from adapter.config import ConfigError, load_settings
from adapter.emulator.arguments import add_arguments as add_emulator_arguments


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

    asyncio.run(run_demo(orders=args.orders, port=args.port))
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
        "demo", help="the emulator and the adapter together, on the local RabbitMQ"
    )
    demo.add_argument("--orders", type=int, default=5, help="sample orders in the emulator")
    demo.add_argument("--port", type=int, default=8080, help="the emulator's port")
    demo.set_defaults(handler=_demo)

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
    except ConfigError as exc:
        print(f"dezo-adapter: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
