"""Commands as integrators send them: their `data`, their files, their CloudEvent body."""

from __future__ import annotations

import base64
import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXPERT = "39115-661768-26(20190905)"
DEPARTMENT = "10000-661768(20190823)"
KIB = 1024
MIB = 1024 * KIB


PDF_HEAD = b"%PDF-1.7\n"
#: A detached signature in PEM, as the adapter recognises one.
SIGNATURE = b"-----BEGIN PKCS7-----\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\n-----END PKCS7-----\n"


def pdf_bytes(size: int) -> bytes:
    """A 'PDF' of exactly `size` bytes: the magic, then random bytes."""
    return PDF_HEAD + os.urandom(size - len(PDF_HEAD))


def pdf_file(path: Path, size: int) -> Path:
    """`pdf_bytes` written to `path` a MiB at a time, for files too big to hold in memory."""
    with path.open("wb") as file:
        file.write(PDF_HEAD)
        for written in range(len(PDF_HEAD), size, MIB):
            file.write(os.urandom(min(MIB, size - written)))
    return path


def inline(
    content: bytes, name: str = "conclusion.pdf", media_type: str = "application/pdf"
) -> dict[str, str]:
    return {
        "name": name,
        "media_type": media_type,
        "content_base64": base64.b64encode(content).decode(),
    }


def by_url(
    url: str, name: str = "conclusion.pdf", media_type: str = "application/pdf"
) -> dict[str, str]:
    return {"name": name, "media_type": media_type, "url": url}


def document_data(command: str, order_id: str, **fields: Any) -> dict[str, Any]:
    """Valid `data` of a document command; `fields` override or add (None removes)."""
    code_field, code = {
        "order.reject": ("reason_code", "КАЧЕСТВО_СНИМКА"),
        "order.conclusion": ("conclusion_code", "ДИАГНОЗ_ПОДТВЕРЖДЕН"),
        "order.expertise-dicom": ("result_code", "НЕЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ"),
        "order.expertise-protocol": ("result_code", "НАРУШЕНИЙ_НЕТ"),
    }[command]
    data: dict[str, Any] = {
        "order_id": order_id,
        code_field: code,
        "description": f"{command} for {order_id}",
        "expert_id": EXPERT,
    }
    if command == "order.conclusion":
        data["pdf"] = inline(pdf_bytes(4 * KIB))
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def command_body(command: str, data: Any, command_id: str | None = None) -> tuple[str, bytes]:
    command_id = command_id or str(uuid.uuid4())
    event = {
        "specversion": "1.0",
        "id": command_id,
        "source": "urn:test",
        "type": f"ru.oncor.dezo.{command}.v1",
        "time": datetime.now(UTC).isoformat(),
        "data": data,
    }
    return command_id, json.dumps(event, ensure_ascii=False).encode()
