"""What the adapter can be asked: the `data` of each command on `dezo.commands`.

A command travels as a CloudEvent of type `ru.oncor.dezo.<command>.v1`, published to the
`dezo.commands` exchange with the command as routing key (e.g. `order.conclusion`). The event
`id` is the command's idempotency key; an optional AMQP `reply_to` gets the outcome too.

Attachments (the PDF of a document and its detached e-signature) come inline as base64 or by
reference (a claim check: an http/https URL the adapter downloads). The bytes themselves are
checked when the command is carried out (valid base64, size, `%PDF-` magic), not here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    HttpUrl,
    Tag,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from adapter.oncor.orid import InvalidOrid, normalize_orid


def _valid_orid(text: str) -> str:
    try:
        return normalize_orid(text)
    except InvalidOrid as exc:
        # A distinct error type, so the consumer can name the problem `invalid_orid`.
        raise PydanticCustomError("invalid_orid", str(exc)) from None


Orid = Annotated[
    str,
    AfterValidator(_valid_orid),
    WithJsonSchema(
        {"type": "string", "pattern": r"^#?\d+:\d+$", "examples": ["#1930:0"]},
        mode="validation",
    ),
]
Text = Annotated[str, Field(min_length=1, max_length=10_000)]
ExpertId = Annotated[str, Field(min_length=1, max_length=200)]
Code = Annotated[str, Field(min_length=1, max_length=200)]
MediaType = Annotated[str, Field(pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=200)]
FileName = Annotated[str, Field(min_length=1, max_length=255)]


class _Strict(BaseModel):
    # A misspelt field is an error the sender must hear about, not a value silently dropped.
    model_config = ConfigDict(extra="forbid", frozen=True)


class InlineAttachment(_Strict):
    """A file carried in the command itself, base64-encoded."""

    name: FileName
    media_type: MediaType
    content_base64: str


class UrlAttachment(_Strict):
    """A file the adapter downloads (claim check): for files too big for a message."""

    name: FileName
    media_type: MediaType
    url: HttpUrl


def _attachment_kind(value: Any) -> str:
    has_url = isinstance(value, UrlAttachment) or (isinstance(value, dict) and "url" in value)
    return "url" if has_url else "inline"


AttachmentRef = Annotated[
    Annotated[InlineAttachment, Tag("inline")] | Annotated[UrlAttachment, Tag("url")],
    Discriminator(_attachment_kind),
]


class Command(_Strict):
    """Every command concerns one DEZO order (`RcTm66Order`)."""

    name: ClassVar[str]
    order_id: Orid


class AssociateDicom(Command):
    """Set the order's status `Ассоциация DICOM` with the link to the matched DICOM study."""

    name: ClassVar[str] = "order.associate-dicom"
    ris_dicom: HttpUrl


class DocumentCommand(Command, ABC):
    """A DEZO document for the order: a reject, a conclusion or one of two expertises."""

    description: Text
    expert_id: ExpertId = Field(description="MedResource id, e.g. 39115-661768-26(20190905)")
    expert_department_id: ExpertId | None = Field(None, description="MedDepart id of the expert")
    pdf: AttachmentRef | None = None
    signature: AttachmentRef | None = Field(None, description="Detached e-signature of the PDF")

    @property
    @abstractmethod
    def code(self) -> str:
        """The dictionary code this document carries (reason, conclusion type or result)."""

    @model_validator(mode="after")
    def _signature_needs_pdf(self) -> DocumentCommand:
        if self.signature is not None and self.pdf is None:
            raise PydanticCustomError("signature_without_pdf", "a signature needs the pdf it signs")
        return self


class RejectOrder(DocumentCommand):
    """The expert centre refuses the order (`addRcTm66OrderReject`)."""

    name: ClassVar[str] = "order.reject"
    reason_code: Code = Field(description="Code from Tm66OrderRejectReason")

    @property
    def code(self) -> str:
        return self.reason_code


class AddConclusion(DocumentCommand):
    """The expert's conclusion, with its PDF (`addRcTm66OrderConclusion`)."""

    name: ClassVar[str] = "order.conclusion"
    conclusion_code: Code = Field(description="Code from Tm66ConclusionType")
    pdf: AttachmentRef

    @property
    def code(self) -> str:
        return self.conclusion_code


class AddDicomExpertise(DocumentCommand):
    """Quality expertise of the DICOM study (`addRcTm66OrderExpertiseDicom`)."""

    name: ClassVar[str] = "order.expertise-dicom"
    result_code: Code = Field(description="Code from Tm66ExpertDicomResult")

    @property
    def code(self) -> str:
        return self.result_code


class AddProtocolExpertise(DocumentCommand):
    """Quality expertise of the primary study protocol (`addRcTm66OrderExpertiseProtocol`)."""

    name: ClassVar[str] = "order.expertise-protocol"
    result_code: Code = Field(description="Code from Tm66ExpertProtocolResult")

    @property
    def code(self) -> str:
        return self.result_code


#: Command (= routing key) -> the model of its `data`.
COMMANDS: dict[str, type[Command]] = {
    model.name: model
    for model in (
        AssociateDicom,
        RejectOrder,
        AddConclusion,
        AddDicomExpertise,
        AddProtocolExpertise,
    )
}
