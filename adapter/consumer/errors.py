"""A command that cannot be carried out as sent.

    InvalidCommand      the command itself is wrong (bad input); ONCOR is not written for it
                        and it is never retried; its `problem` (adapter.failures) names what
    DownloadsBusy       no room to download its files now (every download slot or the spool
                        taken by other commands): retried later like an ONCOR outage

ONCOR's own failures keep their classes from `adapter.oncor.errors`; the dispatcher names them
with `adapter.failures.oncor_problem`.
"""

from __future__ import annotations

from adapter.failures import CommandProblem


class InvalidCommand(Exception):
    """The command cannot be carried out as sent; `message` tells the sender what to fix."""

    def __init__(self, problem: CommandProblem, message: str) -> None:
        super().__init__(message)
        self.problem: CommandProblem = problem
        self.message = message


class DownloadsBusy(Exception):
    """Other commands' downloads fill the slots or the spool: try again later. Waiting for a
    slot inside the delivery would hold that delivery from the commands behind it (see spool)."""
