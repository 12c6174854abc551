"""One handler per command, and the table that routes each command to its handler.

A handler reads like the DEZO scenario and returns the `command.succeeded` outcome; anything
that goes wrong is raised (InvalidCommand, an OncorError) and turned into an outcome by the
dispatcher. The four document commands share `documents.deliver_document`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial

from adapter.consumer.dependencies import Dependencies
from adapter.consumer.documents import DOCUMENTS, deliver_document
from adapter.consumer.intake import ReceivedCommand
from adapter.consumer.order_line import OrderTurn
from adapter.messages.commands import AssociateDicom
from adapter.messages.outcomes import CommandSucceeded
from adapter.observability import metrics
from adapter.oncor.orid import ui_link
from adapter.oncor.status import STATUS_DICOM_ASSOCIATED

Handler = Callable[[ReceivedCommand, Dependencies, OrderTurn], Awaitable[CommandSucceeded]]


async def associate_dicom(
    received: ReceivedCommand, deps: Dependencies, turn: OrderTurn
) -> CommandSucceeded:
    """The DICOM study matched: status `Ассоциация DICOM` with its link, set once."""
    command = received.command
    assert isinstance(command, AssociateDicom)
    link = str(command.ris_dicom)
    async with turn():
        status = await deps.oncor.get_instance_status(command.order_id)
        # Looking through the whole history, not just the current status: a redelivered
        # association must not pull an order that has moved on back to `Ассоциация DICOM`.
        already = any(
            entry.status == STATUS_DICOM_ASSOCIATED and entry.fields().get("ris_dicom") == link
            for entry in (*status.history, status)
        )
        if already:
            metrics.command_duplicates.labels(command.name).inc()
        else:
            await deps.oncor.update_instance_status(
                command.order_id, STATUS_DICOM_ASSOCIATED, ris_dicom=link
            )
    return CommandSucceeded(
        command=command.name,
        command_id=received.command_id,
        order_id=command.order_id,
        record_id=command.order_id,
        ui_link=ui_link(deps.oncor_origin, command.order_id),
    )


#: Command name -> handler: the whole routing in one place.
HANDLERS: dict[str, Handler] = {
    AssociateDicom.name: associate_dicom,
    **{name: partial(deliver_document, spec) for name, spec in DOCUMENTS.items()},
}
