"""An in-process stand-in for the ONCOR registry's DEZO API, for tests, demos and compose stacks.

Entry points: `adapter.emulator.server` (create_app, serve), `python -m adapter.emulator`, and
`adapter.emulator.process.start_emulator_process` for tests that need a real server.
"""
