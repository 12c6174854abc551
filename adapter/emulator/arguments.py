"""The emulator's command line, both ways: flags to EmulatorOptions and back."""

import argparse
from collections.abc import Sequence
from dataclasses import fields

from adapter.emulator.options import EmulatorOptions

_HELP = {
    "host": "interface to listen on",
    "port": "port to listen on; 0 picks a free one",
    "token": "the X-Oncor-API-Token clients must send",
    "orders": "sample orders seeded at start",
    "seed": "random seed for the sample data",
    "job_ready_after": "seconds a search job answers ready=false",
    "page_offset_mode": "RecordsPage offset counts pages (as its doc says) or records (dezo.md)",
    "timezone": "time zone of ONCOR's local timestamps",
    "variance": "answer in forms the docs allow but their examples do not show, and seed one odd"
    " order of each kind",
    "bare_to_date": "a bare query to_date ends where its day starts, or at its end (docs: silent)",
}
_CHOICES = {"page_offset_mode": ("page", "record"), "bare_to_date": ("day_start", "day_end")}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m adapter.emulator", description="ONCOR DEZO API emulator"
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per EmulatorOptions field; `dezo-adapter emulator` uses the same."""
    defaults = EmulatorOptions()
    for option in fields(EmulatorOptions):
        default = getattr(defaults, option.name)
        flag = "--" + option.name.replace("_", "-")
        help_text = f"{_HELP[option.name]} (default: {default})"
        if isinstance(default, bool):
            parser.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=default, help=help_text
            )
            continue
        parser.add_argument(
            flag,
            type=type(default),
            default=default,
            choices=_CHOICES.get(option.name),
            help=help_text,
        )


def options_from(args: argparse.Namespace) -> EmulatorOptions:
    return EmulatorOptions(
        **{option.name: getattr(args, option.name) for option in fields(EmulatorOptions)}
    )


def parse_options(argv: Sequence[str] | None = None) -> EmulatorOptions:
    return options_from(build_parser().parse_args(argv))


def to_argv(options: EmulatorOptions) -> list[str]:
    argv: list[str] = []
    for option in fields(EmulatorOptions):
        flag, value = option.name.replace("_", "-"), getattr(options, option.name)
        if isinstance(value, bool):
            argv.append(f"--{flag}" if value else f"--no-{flag}")
        else:
            argv += ["--" + flag, str(value)]
    return argv
