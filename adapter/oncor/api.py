"""The ONCOR calls the handlers and the poller make: what `OncorClient` offers them.

Services depend on this Protocol, not on the HTTP client, so an in-memory ONCOR stands in for
the real one in the fast tests (tests/support/memory_oncor.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from adapter.oncor import models
from adapter.oncor.attachment_body import AttachmentContent


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
    async def start_order_search(self, query: models.RcTm66OrderQuery) -> models.SearchJob: ...

    def iter_search(self, job_id: str) -> AsyncIterator[models.SearchPage]:
        """The job's records page by page, each once: the poller relies on it (`Poller`)."""
        ...

    async def get_patient(self, patient_id: str) -> models.Patient: ...

    async def query_attachments(
        self, attachment_ids: Sequence[str]
    ) -> list[models.AttachmentMeta]: ...

    # the poller and associate-dicom
    async def get_instance_status(self, record_id: str) -> models.InstanceStatus: ...

    async def update_instance_status(
        self, record_id: str, status: str, **fields: str
    ) -> models.InstanceStatus: ...

    # the document commands
    async def get_dictionary(self, name: models.Tm66Dictionary) -> list[models.DictionaryEntry]: ...

    async def get_record(self, record_id: str) -> models.Rc: ...

    async def list_records(self, ehr_id: str) -> models.SearchPage: ...

    async def create_attachment(
        self, name: str, media_type: str, content: AttachmentContent
    ) -> models.AttachmentMeta: ...

    async def add_reject(self, reject: models.RcTm66OrderReject) -> models.Rc: ...

    async def add_conclusion(self, conclusion: models.RcTm66OrderConclusion) -> models.Rc: ...

    async def add_expertise_dicom(
        self, expertise: models.RcTm66OrderExpertiseDicom
    ) -> models.Rc: ...

    async def add_expertise_protocol(
        self, expertise: models.RcTm66OrderExpertiseProtocol
    ) -> models.Rc: ...
