"""`dezo-adapter send`'s flags are kept apart from the command models; they must stay in step."""

from __future__ import annotations

from adapter.messages.commands import COMMANDS
from adapter.tools.send_arguments import COMMAND_FLAGS


def test_every_command_has_its_flags_and_each_flag_fills_a_field_of_its_command() -> None:
    assert set(COMMAND_FLAGS) == set(COMMANDS)
    for command, flags in COMMAND_FLAGS.items():
        for _, field, _ in flags.own:
            assert field in COMMANDS[command].model_fields, (command, field)
