"""Hypothesis strategies for ONCOR answers as `types/types.md` allows them, not only as the
examples show: `null` for any optional or repeated field, numbers where a string is declared,
numeric strings where a double is, unknown fields, times in any ISO 8601 form."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

Json = dict[str, Any]

finite = st.floats(allow_nan=False, allow_infinity=False, width=32)
#: `string`: text, or a number (ONCOR's JSON printer may write ids and codes as numbers)
string = st.one_of(st.text(max_size=20), st.integers(-(10**9), 10**9), finite)
#: `double`: a number or a numeric string
double = st.one_of(finite, st.integers(-1000, 1000), finite.map(str))
int32 = st.integers(-(2**31), 2**31 - 1)
orid = st.builds(lambda cluster, position: f"#{cluster}:{position}", int32, int32)


def _iso_time(moment: datetime, separator: str, digits: int, offset: str) -> str:
    fraction = f".{moment.microsecond:06d}"[: digits + 1] if digits else ""
    return moment.strftime(f"%Y-%m-%d{separator}%H:%M:%S") + fraction + offset


#: a `date_time`-like string: the examples' form, or any ISO 8601 variant
date_time = st.builds(
    _iso_time,
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from([" ", "T"]),
    st.integers(0, 6),
    st.sampled_from(["", "Z", "+05:00", "-03:30"]),
)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def repeated(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A repeated field: absent, `null`, or a list."""
    return st.one_of(st.none(), st.lists(strategy, max_size=3))


def message(required: dict[str, Any], optionals: dict[str, Any]) -> st.SearchStrategy[Json]:
    """A message with its optional fields present, `null` or absent, plus an unknown field."""
    fields = {name: optional(strategy) for name, strategy in optionals.items()}
    fields["field_from_a_later_oncor"] = optional(st.text(max_size=5))
    return st.fixed_dictionaries(required, optional=fields)


dictionary_entry = message({}, {"orid": string, "id": string, "code": string, "caption": string})
med_resource = message(
    {},
    {
        "id": string,
        "code": string,
        "date_range": repeated(string),
        "name": string,
        "doctor_code": string,
        "doctor_name": string,
        "med_org_code": string,
        "med_spec_code": string,
    },
)
med_organization = message(
    {},
    {
        "id": string,
        "code": string,
        "date_range": repeated(string),
        "name": string,
        "mo_code": string,
        "long_name": string,
        "ogrn": string,
    },
)
primary_diagnostics_doc = message(
    {},
    {
        "method": dictionary_entry,
        "date_time": date_time,
        "device": string,
        "text": string,
        "dose_msv": double,
        "attachment_id": repeated(orid),
    },
)
tm66_doc = message(
    {},
    {
        "date_time": date_time,
        "name": string,
        "description": string,
        "attachment_id": repeated(orid),
    },
)
rc_tm66_order = message(
    {},
    {
        "purpose": dictionary_entry,
        "diagnostics_type": dictionary_entry,
        "description": string,
        "dz_icd10": dictionary_entry,
        "dz_text": string,
        "primary_diagnostics_doc": primary_diagnostics_doc,
        "docs": repeated(tm66_doc),
        "client": med_resource,
        "client_mo": med_organization,
        "expert_mo": med_organization,
    },
)


def order_record(record_id: str) -> st.SearchStrategy[Json]:
    """An `Rc` holding an order, as the types allow it; its id is given (unique on a page)."""
    return message(
        {"id": st.just(record_id), "class_name": st.just("RcTm66Order")},
        {
            "patient_id": orid,
            "ehr_id": orid,
            "published": message({}, {"user_id": orid, "time": date_time}),
            "org_unit_id": orid,
            "summary": string,
            "time_rc": date_time,
            "deleted_status": repeated(st.sampled_from(["RC", "EHR", "PTN", 1, 2, 3])),
            "attachment_id": repeated(orid),
            "instance_status": string,
            "rc_tm66_order": rc_tm66_order,
        },
    )


#: one record the types do NOT allow: an object where a string is declared, and so on
broken_record = st.sampled_from(
    [
        {"published": "2020-05-18 20:13:06"},
        {"rc_tm66_order": {"docs": "Прием онколога"}},
        {"rc_tm66_order": {"primary_diagnostics_doc": {"dose_msv": "четыре"}}},
        {"time_rc": {"date": "2020-05-18"}},
        {"deleted_status": "RC"},
    ]
)

#: a status field name as the bare-key form writes it
status_key = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
status_value = st.one_of(st.text(max_size=30), st.integers(), st.booleans(), st.none())
status_fields = st.fixed_dictionaries(
    {"status": st.text(max_size=30)}, optional={"ris_dicom": st.text(max_size=30)}
).flatmap(
    lambda fixed: st.dictionaries(status_key, status_value, max_size=3).map(
        lambda extra: {**extra, **fixed}
    )
)


def bare_key_form(fields: Json) -> str:
    """`{status: "Обработка началась"}`: the form `status/get` and `status/update` document."""
    return (
        "{"
        + ", ".join(
            f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in fields.items()
        )
        + "}"
    )
