"""Helpers shared by the tests, imported as a package (never from a conftest.py).

The fast layer (tests/unit):
    memory_oncor       an in-memory ONCOR behind the OncorApi Protocol: 422s, scripted faults
    memory_bus         an in-memory bus: publishes recorded, deliveries as simple fakes
    consumer_parts     the consumer's parts wired around them, as the runner wires them

Everything:
    commands           command data, inline and by-URL files, the one PDF builder, CloudEvents
    waiting            the one `eventually` (async) and `wait_until` (plain)

Broker and emulator tests:
    broker             the RabbitMQ the tests make virtual hosts on
    emulator_admin     the one client of the emulator's admin API
    processes          the one way to run `dezo-adapter` as a process; the caller says how it stops
    files              the one file server for claim-check URLs
    running_consumer   the consumer in this process, and an observer of the bus around it
    running_publisher  the publisher in this process, and a collector of its events
    settings, metrics  settings for in-process services; readings of the Prometheus registry
"""
