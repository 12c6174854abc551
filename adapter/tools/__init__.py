"""Command-line tools for integrators and operators: send, watch, dead letters, order show."""


class ToolError(Exception):
    """A tool cannot do what was asked; the message says what to change."""
