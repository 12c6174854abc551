"""Everything that talks to ONCOR: the client, its wire models and its errors."""

from adapter.oncor.client import CallObserver, OncorClient, RetryPolicy, SearchPolicy
from adapter.oncor.errors import (
    OncorAuthError,
    OncorCircuitOpen,
    OncorError,
    OncorProtocolError,
    OncorRejected,
    OncorSearchTimeout,
    OncorUnavailable,
)

__all__ = [
    "CallObserver",
    "OncorAuthError",
    "OncorCircuitOpen",
    "OncorClient",
    "OncorError",
    "OncorProtocolError",
    "OncorRejected",
    "OncorSearchTimeout",
    "OncorUnavailable",
    "RetryPolicy",
    "SearchPolicy",
]
