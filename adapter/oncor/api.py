"""The ONCOR calls the handlers and the poller make: what `OncorClient` offers them.

Services depend on this Protocol, not on the HTTP client, so an in-memory ONCOR stands in for
the real one in the fast tests (tests/support/memory_oncor.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from adapter.oncor.attachment_body import AttachmentContent
from adapter.oncor.models import (
    AttachmentMeta,
    DictionaryEntry,
    InstanceStatus,
    Patient,
    Rc,
    RcTm66OrderConclusion,
    RcTm66OrderExpertiseDicom,
    RcTm66OrderExpertiseProtocol,
    RcTm66OrderQuery,
    RcTm66OrderReject,
    SearchJob,
    SearchPage,
    Tm66Dictionary,
)


class Outage(Protocol):
    """ONCOR held for down, as the circuit breaker sees it."""

    @property
    def is_open(self) -> bool: ...

    async def wait_open(self) -> None: ...

    async def wait_closed(self) -> None: ...


class OncorApi(Protocol):
    @property
    def breaker(self) -> Outage: ...

    def outage_wait(self, seconds: float) -> AbstractContextManager[None]:
        """Calls made within wait at most `seconds` for an open circuit."""
        ...

    # the poller
    async def start_order_search(self, query: RcTm66OrderQuery) -> SearchJob: ...

    def iter_search(self, job_id: str) -> AsyncIterator[SearchPage]: ...

    async def get_patient(self, patient_id: str) -> Patient: ...

    async def query_attachments(self, attachment_ids: Sequence[str]) -> list[AttachmentMeta]: ...

    # the poller and associate-dicom
    async def get_instance_status(self, record_id: str) -> InstanceStatus: ...

    async def update_instance_status(
        self, record_id: str, status: str, **fields: str
    ) -> InstanceStatus: ...

    # the document commands
    async def get_dictionary(self, name: Tm66Dictionary) -> list[DictionaryEntry]: ...

    async def get_record(self, record_id: str) -> Rc: ...

    async def list_records(self, ehr_id: str) -> SearchPage: ...

    async def create_attachment(
        self, name: str, media_type: str, content: AttachmentContent
    ) -> AttachmentMeta: ...

    async def add_reject(self, reject: RcTm66OrderReject) -> Rc: ...

    async def add_conclusion(self, conclusion: RcTm66OrderConclusion) -> Rc: ...

    async def add_expertise_dicom(self, expertise: RcTm66OrderExpertiseDicom) -> Rc: ...

    async def add_expertise_protocol(self, expertise: RcTm66OrderExpertiseProtocol) -> Rc: ...
