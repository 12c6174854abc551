"""The order publisher: finds new DEZO orders in ONCOR, announces them, marks them started.

poller.py       one polling cycle, step by step as in the scenario
enrich.py       patients and attachment metadata, each fetched once for orders close together
order_event.py  an ONCOR order as the `order.received` event
failures.py     how a skipped order is named, counted and logged
service.py      OrderPublisher: the loop that runs cycles while leading (bus.leadership)
"""
