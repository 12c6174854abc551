"""`dezo-adapter send`'s flags, apart from the tool: an adapter started with `run` builds this
command line too, and need not load the command models for it (1.2 MB of a publisher's memory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple


class CommandFlags(NamedTuple):
    help: str
    #: (flag, data field, meaning) for the command's own flags; the shared ones are added below
    own: list[tuple[str, str, str]]


COMMAND_FLAGS: dict[str, CommandFlags] = {
    "order.associate-dicom": CommandFlags(
        "link the matched DICOM study (status `Ассоциация DICOM`)",
        [("--ris-dicom", "ris_dicom", "link to the matched DICOM study")],
    ),
    "order.reject": CommandFlags(
        "refuse the order",
        [("--reason", "reason_code", "code from Tm66OrderRejectReason")],
    ),
    "order.conclusion": CommandFlags(
        "the expert's conclusion, with its PDF",
        [("--conclusion", "conclusion_code", "code from Tm66ConclusionType")],
    ),
    "order.expertise-dicom": CommandFlags(
        "quality expertise of the DICOM study",
        [("--result", "result_code", "code from Tm66ExpertDicomResult")],
    ),
    "order.expertise-protocol": CommandFlags(
        "quality expertise of the primary study protocol",
        [("--result", "result_code", "code from Tm66ExpertProtocolResult")],
    ),
}


def add_send_parser(commands: Any) -> None:
    send = commands.add_parser("send", help="publish a command to dezo.commands")
    kinds = send.add_subparsers(dest="send_command", required=True)
    for command, flags in COMMAND_FLAGS.items():
        short = command.removeprefix("order.")
        parser = kinds.add_parser(short, help=flags.help)
        parser.set_defaults(command_name=command, own_flags=flags.own)
        parser.add_argument("--order", required=True, help="ONCOR order id, e.g. '#1930:0'")
        for flag, field, meaning in flags.own:
            parser.add_argument(flag, dest=field, required=True, help=meaning)
        if command != "order.associate-dicom":
            parser.add_argument("--description", required=True, help="the document's text")
            parser.add_argument("--expert", required=True, help="MedResource id of the expert")
            parser.add_argument("--department", help="MedDepart id of the expert")
            parser.add_argument("--pdf", type=Path, help="PDF file, sent inline (base64)")
            parser.add_argument("--pdf-url", help="PDF by URL: the adapter downloads it")
            parser.add_argument("--sig", type=Path, help="detached e-signature file of the PDF")
            parser.add_argument("--sig-url", help="detached e-signature by URL")
        parser.add_argument("--id", help="command id (idempotency key); default: a new UUID")
        parser.add_argument("--wait", action="store_true", help="print the outcome event")
        parser.add_argument("--timeout", type=float, default=60.0, help="seconds --wait waits")
