"""Every message on the bus, where it travels, and the model of its CloudEvent.

The AsyncAPI document, the JSON Schema files and the examples are all generated from this
list, the topology module and the message models; nothing under `schemas/` is written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, create_model

from adapter.bus.envelope import CloudEvent, event_type
from adapter.bus.topology import COMMANDS_EXCHANGE, EVENTS_EXCHANGE
from adapter.messages.commands import COMMANDS
from adapter.messages.orders import ORDER_RECEIVED, OrderReceived
from adapter.messages.outcomes import FAILED_TYPE, SUCCEEDED_TYPE, CommandFailed, CommandSucceeded

Kind = Literal["command", "event"]


@dataclass(frozen=True)
class MessageSpec:
    """One message type of the contract."""

    name: str  # e.g. "order.conclusion", "order.received", "command.failed"
    kind: Kind
    exchange: str
    routing_key: str  # may hold `{command}`, one routing key per command type
    data_model: type[BaseModel]

    @property
    def event_type(self) -> str:
        return event_type(self.name)

    @property
    def summary(self) -> str:
        return (self.data_model.__doc__ or self.name).strip().splitlines()[0]

    @property
    def title(self) -> str:
        """A component name: `order.expertise-dicom` -> `OrderExpertiseDicom`."""
        return "".join(part.capitalize() for part in self.name.replace("-", ".").split("."))

    @cached_property
    def envelope_model(self) -> type[CloudEvent]:
        """The CloudEvent carrying this message: fixed `type`, `data` of the message's model."""
        fields: dict[str, Any] = {
            "type": (Literal[self.event_type], ...),
            "data": (self.data_model, ...),
        }
        model: type[CloudEvent] = create_model(
            f"{self.title}{self.kind.capitalize()}",
            __base__=CloudEvent,
            __doc__=f"CloudEvent `{self.event_type}`: {self.summary}",
            **fields,
        )
        return model

    @property
    def schema_path(self) -> str:
        """Where its JSON Schema lives under `schemas/`."""
        return f"{self.kind}s/{self.name}.schema.json"

    @property
    def example_path(self) -> str:
        return f"examples/{self.kind}s/{self.name}.json"


COMMAND_MESSAGES = tuple(
    MessageSpec(name, "command", COMMANDS_EXCHANGE, name, model) for name, model in COMMANDS.items()
)
ORDER_RECEIVED_MESSAGE = MessageSpec(
    ORDER_RECEIVED, "event", EVENTS_EXCHANGE, ORDER_RECEIVED, OrderReceived
)
SUCCEEDED_MESSAGE = MessageSpec(
    SUCCEEDED_TYPE, "event", EVENTS_EXCHANGE, f"{SUCCEEDED_TYPE}.{{command}}", CommandSucceeded
)
FAILED_MESSAGE = MessageSpec(
    FAILED_TYPE, "event", EVENTS_EXCHANGE, f"{FAILED_TYPE}.{{command}}", CommandFailed
)
EVENT_MESSAGES = (ORDER_RECEIVED_MESSAGE, SUCCEEDED_MESSAGE, FAILED_MESSAGE)
MESSAGES = (*COMMAND_MESSAGES, *EVENT_MESSAGES)


def message(name: str) -> MessageSpec:
    return next(spec for spec in MESSAGES if spec.name == name)
