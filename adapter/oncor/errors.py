"""What can go wrong when talking to ONCOR, as exceptions a caller can catch by meaning.

    OncorError
    ├── OncorRejected        ONCOR answered 422: permanent, carries ONCOR's name/message/uuid
    ├── OncorAuthError       401/403: the token or its rights are wrong; a configuration error
    ├── OncorProtocolError   an answer we cannot read (not JSON, not the documented shape)
    └── OncorUnavailable     transient: 5xx, 429, timeouts, connection failures; worth retrying
        ├── OncorSearchTimeout   a search job stayed not-ready longer than we wait
        └── OncorCircuitOpen     an outage the circuit breaker has seen: not this call's fault

The retry policy and the command outcome (`rejected_by_oncor`, `oncor_unavailable`) follow from
the class alone. No message here ever contains the API token.
"""

from __future__ import annotations


class OncorError(Exception):
    """Base class of every ONCOR failure; `method` is the API path, e.g. `patient/get`."""

    def __init__(self, method: str, message: str) -> None:
        super().__init__(f"ONCOR {method}: {message}")
        self.method = method


class OncorRejected(OncorError):
    """ONCOR refused the request (HTTP 422); retrying the same request cannot help."""

    def __init__(self, method: str, name: str, message: str, uuid: str | None) -> None:
        super().__init__(method, f"rejected: {name}: {message} (uuid {uuid})")
        self.name = name
        self.oncor_message = message
        self.uuid = uuid


class OncorAuthError(OncorError):
    """ONCOR refused our credentials (HTTP 401/403): fix the token or its rights."""

    def __init__(self, method: str, status: int) -> None:
        super().__init__(method, f"HTTP {status}: the API token is missing, wrong or lacks rights")
        self.status = status


class OncorProtocolError(OncorError):
    """ONCOR answered something we cannot interpret as its documented response."""


class OncorUnavailable(OncorError):
    """A transient failure: ONCOR may answer correctly if asked again later.

    `maybe_applied` is true when a write may have taken effect although we saw no answer (a read
    timeout, a dropped connection, a 500): such a write must be reconciled, not blindly repeated.
    `retry_after` carries ONCOR's `Retry-After` in seconds when it sent one.
    """

    def __init__(
        self,
        method: str,
        message: str,
        *,
        status: int | None = None,
        maybe_applied: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(method, message)
        self.status = status
        self.maybe_applied = maybe_applied
        self.retry_after = retry_after


class OncorSearchTimeout(OncorUnavailable):
    """A search job did not become ready within the configured wait."""

    def __init__(self, method: str, job_id: str, waited: float) -> None:
        super().__init__(
            method, f"search job {job_id} not ready after {waited:.1f}s", maybe_applied=False
        )
        self.job_id = job_id


class OncorCircuitOpen(OncorUnavailable):
    """ONCOR is down as far as the circuit breaker can tell; the call waited for it in vain.

    Raised instead of the call's own failure once the breaker is open, so that a caller can tell
    an outage (wait for `CircuitBreaker.wait_closed`, spend no retry budget) from a failure of
    this call. `maybe_applied` is the failed attempt's, false when no attempt reached ONCOR.
    """

    def __init__(
        self, method: str, *, maybe_applied: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(
            method,
            "circuit open: ONCOR is not answering",
            maybe_applied=maybe_applied,
            retry_after=retry_after,
        )

    @classmethod
    def seen_in(cls, failure: OncorUnavailable) -> OncorCircuitOpen:
        """The failure of an attempt that the breaker counts as part of an outage."""
        return cls(
            failure.method, maybe_applied=failure.maybe_applied, retry_after=failure.retry_after
        )
