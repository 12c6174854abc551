"""Helpers shared by the tests, imported as a package (never from a conftest.py).

memory_oncor   an in-memory ONCOR behind the OncorApi Protocol, with faults
memory_bus     an in-memory bus: publishes recorded, deliveries as simple fakes
"""
