"""Every Prometheus metric the adapter exports, defined in one place.

Labels never carry patient data or record ids: only method names, command types, outcomes
and reasons, all from small fixed sets.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from adapter.oncor.breaker import CIRCUIT_STATES, CircuitState

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

# --- ONCOR --------------------------------------------------------------------------------------
oncor_requests = Counter(
    "dezo_oncor_requests_total",
    "HTTP exchanges with ONCOR by API method and outcome (HTTP status, timeout, connection_error)",
    ["method", "status"],
)
oncor_request_duration = Histogram(
    "dezo_oncor_request_duration_seconds",
    "Duration of HTTP exchanges with ONCOR",
    ["method"],
    buckets=LATENCY_BUCKETS,
)


oncor_circuit_state = Gauge(
    "dezo_oncor_circuit_state",
    "1 for the state the circuit breaker on ONCOR is in (closed, open, half_open), else 0",
    ["state"],
)
oncor_circuit_open_seconds = Counter(
    "dezo_oncor_circuit_open_seconds_total",
    "Seconds the circuit breaker on ONCOR spent open or half-open, counted at each change",
)


def observe_oncor_call(method: str, outcome: str, seconds: float) -> None:
    """The ONCOR client's CallObserver."""
    oncor_requests.labels(method, outcome).inc()
    oncor_request_duration.labels(method).observe(seconds)


def observe_oncor_circuit(state: CircuitState, previous: CircuitState, seconds: float) -> None:
    """The ONCOR circuit breaker's CircuitObserver."""
    for each in CIRCUIT_STATES:
        oncor_circuit_state.labels(each).set(1 if each == state else 0)
    if previous != "closed":
        oncor_circuit_open_seconds.inc(seconds)


observe_oncor_circuit("closed", "closed", 0.0)  # every state's series exists from the start


# --- order publisher ----------------------------------------------------------------------------
orders_found = Counter("dezo_orders_found_total", "Orders without a status found by searches")
orders_published = Counter(
    "dezo_orders_published_total", "order.received events confirmed by the broker"
)
orders_marked = Counter(
    "dezo_orders_marked_total", "Orders whose ONCOR status was set to 'Обработка началась'"
)
orders_republished = Counter(
    "dezo_orders_republished_total",
    "Orders published again because their status was not set after an earlier publish",
)
order_failures = Counter(
    "dezo_order_failures_total",
    "Orders skipped in a cycle, by stage and reason; they are tried again next cycle",
    ["stage", "reason"],
)
orders_deleted = Counter(
    "dezo_orders_deleted_total",
    "Deleted orders (any deleted_status) found by searches; neither announced nor marked",
)
orders_skipped_since = Gauge(
    "dezo_orders_skipped_since_timestamp_seconds",
    "Unix time since which the longest-skipped order has been skipped in every cycle"
    " (unreadable, or its patient or attachments not to be had); 0 when none is",
)
poll_cycles = Counter("dezo_poll_cycles_total", "Polling cycles by outcome", ["outcome"])
poll_cycle_duration = Histogram(
    "dezo_poll_cycle_duration_seconds",
    "Duration of a polling cycle",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
poll_last_success = Gauge(
    "dezo_poll_last_success_timestamp_seconds", "Unix time of the last successful polling cycle"
)
poller_leader = Gauge("dezo_poller_leader", "1 while this replica holds the poller leadership")

# --- command consumer ---------------------------------------------------------------------------
commands_owner = Gauge(
    "dezo_commands_owner", "1 while this replica holds the commands ownership (consumes commands)"
)
commands = Counter(
    "dezo_commands_total", "Commands finished, by command type and outcome", ["command", "outcome"]
)
command_duration = Histogram(
    "dezo_command_duration_seconds",
    "Time from receiving a command to acknowledging it",
    ["command"],
    buckets=LATENCY_BUCKETS,
)
command_retries = Counter(
    "dezo_command_retries_total", "Commands sent to a delayed retry queue", ["command"]
)
command_duplicates = Counter(
    "dezo_command_duplicates_total",
    "Commands whose ONCOR effect already existed (redelivered or sent twice)",
    ["command"],
)
dead_letters = Counter("dezo_dead_letters_total", "Messages dead-lettered, by reason", ["reason"])
attachment_bytes = Counter(
    "dezo_attachment_bytes_uploaded_total", "Bytes of attachments uploaded to ONCOR"
)
order_turnaround = Histogram(
    "dezo_order_turnaround_seconds",
    "Time from an order's creation in ONCOR to its conclusion or rejection",
    ["outcome"],
    buckets=(3600, 4 * 3600, 12 * 3600, 86400, 2 * 86400, 3 * 86400, 7 * 86400, 14 * 86400),
)

# --- process ------------------------------------------------------------------------------------
broker_connected = Gauge("dezo_broker_connected", "1 while the broker connection is up")
ready = Gauge("dezo_ready", "1 while the adapter reports ready on /readyz")
