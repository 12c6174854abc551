"""The command consumer: commands from `dezo.commands` carried out in ONCOR, one outcome each.

Where things are:
    service.py       CommandConsumer: consuming, in-flight work, graceful shutdown
    intake.py        reading a delivery: size, CloudEvent envelope, type, schema
    dispatcher.py    the message bus: per-order lock, ledger, handler, decision
    handlers.py      one handler per command (DICOM association) and the routing table
    documents.py     reject, conclusion, DICOM and protocol expertise: one path, four specs
    attachments.py   inline or by-URL files: checks, download to a temp file, upload
    dictionaries.py  cached Tm66 dictionaries: unknown codes fail fast
    idempotency.py   ledger and reconciliation: at most one ONCOR effect per command
    settlement.py    outcome events, dead letters, retry queues (then the ack)
    errors.py        the named problems (each a dead letter's x-dezo-reason)
"""
