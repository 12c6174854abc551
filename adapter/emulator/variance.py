"""ONCOR as its documented types allow, not only as its examples show.

Odd orders are stored as data: each differs from the RecordsPage example in one way the types
(`types/types.md`) allow. The runtime switch `variance` changes answer forms the docs allow too:
RecordsPage without its optional `size`, statuses in the bare-key form `status/get` documents,
and `attachment/query` refusing (422) a batch that names an attachment id it does not know
(dezo.md: ids go stale and are removed; the docs do not say how the query answers for one).
"""

import json
from collections.abc import Callable
from typing import Any, Literal, get_args

from adapter.emulator.store import JsonObject

Oddity = Literal[
    "null_docs",  # a repeated field as null
    "number_for_string",  # a number where the docs say string
    "string_dose",  # a double as a numeric string
    "t_time",  # times with the ISO `T` separator
    "fractional_seconds",  # times with fractional seconds
    "deleted",  # Rc.deleted_status set: never to be announced
    "null_order",  # rc_tm66_order null: the record says nothing of the order itself
    "stale_attachment",  # a document names an attachment id ONCOR no longer knows
]
ODDITIES: tuple[Oddity, ...] = get_args(Oddity)

STALE_ATTACHMENT_ID = "#1586:999999"  # never created: the attachment cluster is another


def _order_part(rc: JsonObject) -> JsonObject:
    part: JsonObject = rc["rc_tm66_order"]
    return part


def _times(rc: JsonObject, rewrite: Callable[[str], str]) -> None:
    rc["time_rc"] = rewrite(rc["time_rc"])
    rc["published"]["time"] = rewrite(rc["published"]["time"])
    part = _order_part(rc)
    for doc in [part.get("primary_diagnostics_doc") or {}, *(part.get("docs") or [])]:
        if "date_time" in doc:
            doc["date_time"] = rewrite(doc["date_time"])


def _null_docs(rc: JsonObject) -> None:
    _order_part(rc)["docs"] = None


def _number_for_string(rc: JsonObject) -> None:
    purpose = _order_part(rc)["purpose"]
    purpose["id"] = int(purpose["id"])


def _string_dose(rc: JsonObject) -> None:
    protocol = _order_part(rc).setdefault("primary_diagnostics_doc", {})
    protocol["dose_msv"] = str(float(protocol.get("dose_msv", 4.0)))


def _t_time(rc: JsonObject) -> None:
    _times(rc, lambda text: text.replace(" ", "T"))


def _fractional_seconds(rc: JsonObject) -> None:
    _times(rc, lambda text: text + ".125")


def _deleted(rc: JsonObject) -> None:
    rc["deleted_status"] = ["RC"]


def _null_order(rc: JsonObject) -> None:
    rc["rc_tm66_order"] = None


def _stale_attachment(rc: JsonObject) -> None:
    docs = _order_part(rc).get("docs") or []
    docs.append({"name": "Выписной эпикриз", "attachment_id": [STALE_ATTACHMENT_ID]})
    _order_part(rc)["docs"] = docs


_APPLY: dict[Oddity, Callable[[JsonObject], None]] = {
    "null_docs": _null_docs,
    "number_for_string": _number_for_string,
    "string_dose": _string_dose,
    "t_time": _t_time,
    "fractional_seconds": _fractional_seconds,
    "deleted": _deleted,
    "null_order": _null_order,
    "stale_attachment": _stale_attachment,
}


def make_odd(rc: JsonObject, oddity: Oddity) -> None:
    """Change a sample order's JSON, complete as `SampleGenerator` makes it, in one odd way."""
    _APPLY[oddity](rc)


def bare_key_status(fields: dict[str, Any]) -> str:
    """A status in the form `status/get` documents: `{status: "Обработка началась"}`."""
    pairs = (f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items())
    return "{" + ", ".join(pairs) + "}"
