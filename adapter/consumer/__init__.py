"""The command consumer: commands from `dezo.commands` carried out in ONCOR, one outcome each.

Where things are:
    service.py       CommandConsumer: while this replica owns the commands; budget, shutdown
    deliveries.py    one delivery: read, defer or carry out, then settle
    intake.py        reading a delivery: size, CloudEvent envelope, type, schema
    provenance.py    which x-dezo-* headers the adapter wrote itself, and may believe
    dispatcher.py    the message bus: order's line, handler, decision
    order_line.py    an order's commands, one after the other in arrival order
    handlers.py      one handler per command (DICOM association) and the routing table
    documents.py     reject, conclusion, DICOM and protocol expertise: one path, four specs
    attachments.py   inline or by-URL files: checks, download to a temp file, upload
    dictionaries.py  cached Tm66 dictionaries: unknown codes fail fast
    idempotency.py   finding the document an earlier copy wrote: one ONCOR effect per command
    budget.py        memory for commands in flight, bounded in bytes; the size of each lane
    url_policy.py    which attachment URLs may be fetched (allow-list, no internal addresses)
    spool.py         bytes of downloads on disk, bounded
    settlement.py    outcome events, dead letters, retry queues (then the ack)
    errors.py        InvalidCommand, naming its problem (the words: adapter.failures)
    legacy.py        partition queues of an earlier release, moved back into dezo.commands
"""
