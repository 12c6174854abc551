"""ONCOR's record status: a JSON-ish object inside `InstanceStatus.json`.

ONCOR's docs send it with bare keys (`{status: "Обработка началась"}`) and answer either that
form or strict JSON, so we write the documented form and read both.
"""

from __future__ import annotations

import json
from typing import Any

STATUS_PROCESSING_STARTED = "Обработка началась"
STATUS_DICOM_ASSOCIATED = "Ассоциация DICOM"


def format_status(status: str, **fields: str) -> str:
    """The documented request form, e.g. `{status: "Ассоциация DICOM", ris_dicom: "https://…"}`."""
    items = {"status": status, **fields}
    return (
        "{"
        + ", ".join(
            f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in items.items()
        )
        + "}"
    )


def parse_status(text: str) -> dict[str, Any]:
    """Read a status object in strict JSON or with bare keys; raises ValueError if neither."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        parsed = json.loads(_quote_bare_keys(text))
    if not isinstance(parsed, dict):
        raise ValueError("status is not a JSON object")
    return parsed


def _quote_bare_keys(text: str) -> str:
    """Quote identifiers that stand where an object key belongs, leaving string contents alone."""
    out: list[str] = []
    index, length = 0, len(text)
    in_string = False
    expect_key = False
    while index < length:
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\" and index + 1 < length:
                out.append(text[index + 1])
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            expect_key = False
            out.append(char)
        elif char in "{,":
            expect_key = True
            out.append(char)
        elif expect_key and (char.isalpha() or char == "_"):
            end = index
            while end < length and (text[end].isalnum() or text[end] == "_"):
                end += 1
            out.append(json.dumps(text[index:end]))
            index = end
            expect_key = False
            continue
        else:
            if not char.isspace():
                expect_key = False
            out.append(char)
        index += 1
    return "".join(out)
