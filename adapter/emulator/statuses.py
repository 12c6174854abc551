"""Order statuses: ONCOR's lenient status json."""

import json
import re
from typing import Any

_STRING = re.compile(r'("(?:[^"\\]|\\.)*")')
_BARE_KEY = re.compile(r"([{,]\s*)([^\W\d]\w*)(\s*:)")


def parse_status_json(text: str) -> dict[str, Any]:
    """Parse `{status: "Ассоциация DICOM", ris_dicom: "..."}` or strict JSON.

    Bare keys are quoted outside string literals only, so values such as URLs stay intact.
    Raises ValueError with a reason a client can act on.
    """
    pieces = _STRING.split(text)
    # split() with a capturing group puts the string literals at the odd positions
    quoted = "".join(
        piece if index % 2 else _BARE_KEY.sub(r'\1"\2"\3', piece)
        for index, piece in enumerate(pieces)
    )
    try:
        fields = json.loads(quoted)
    except ValueError as error:
        raise ValueError(f"status json is not parsable: {error}") from None
    if not isinstance(fields, dict) or not isinstance(fields.get("status"), str):
        raise ValueError('status json must be an object with a "status" string')
    return fields
