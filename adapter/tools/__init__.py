"""Command-line tools for integrators and operators: send, watch, dead letters."""
