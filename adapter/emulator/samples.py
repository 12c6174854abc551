"""Sample DEZO orders as physicians create them in ONCOR's UI, with their patients and PDFs."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapter.emulator.clock import LocalClock, format_time
from adapter.emulator.dictionaries import TM66_ORDER_PURPOSE, directory_entry
from adapter.emulator.organizations import EXPERT_MO_CODE, EXPERT_MO_ID, MED_RESOURCE, OPEN_END
from adapter.emulator.people import make_patient
from adapter.emulator.store import CLINICIAN_ORG_UNIT_ID, CLINICIAN_USER_ID, ORDER_CLASS, Store
from adapter.emulator.variance import Oddity, make_odd

ORDER_CLUSTER = 1930
PATIENT_CLUSTER = 69
EHR_CLUSTER = 1053  # a patient's history shares the patient's position: #69:111 -> #1053:111


@dataclass(frozen=True)
class _Diagnosis:
    orid: str
    code: str
    caption: str
    diagnostics_type: str  # the study that fits this diagnosis
    sex: str | None = None  # only patients of this sex get it


_DIAGNOSES = (
    _Diagnosis("#844:138", "C34.0", "Главного бронха", "КТ_ГРУДНОЙ_КЛЕТКИ"),
    _Diagnosis("#844:139", "C34.1", "Верхней доли, бронхов или легкого", "РГ_ГРУДНОЙ_КЛЕТКИ"),
    _Diagnosis(
        "#844:512", "C50.4", "Верхненаружного квадранта молочной железы", "УЗИ_МОЛОЧНЫХ_ЖЕЛЕЗ", "Ж"
    ),
    _Diagnosis("#844:77", "C18.7", "Сигмовидной кишки", "КТ_БРЮШНОЙ_ПОЛОСТИ"),
    _Diagnosis("#844:61", "C16.2", "Тела желудка", "РГ_ЖЕЛУДКА_ПИЩЕВОДА"),
    _Diagnosis(
        "#844:640", "C61", "Злокачественное новообразование предстательной железы", "МРТ_ТАЗА", "М"
    ),
    _Diagnosis(
        "#844:655",
        "C64",
        "Злокачественное новообразование почки, кроме почечной лоханки",
        "КТ_БРЮШНОЙ_ПОЛОСТИ",
    ),
    _Diagnosis("#844:688", "C71.1", "Лобной доли", "МРТ_ГОЛОВЫ"),
    _Diagnosis("#844:82", "C20", "Злокачественное новообразование прямой кишки", "МРТ_ТАЗА"),
    _Diagnosis("#844:101", "C25.0", "Головки поджелудочной железы", "КТ_БРЮШНОЙ_ПОЛОСТИ"),
    _Diagnosis("#844:712", "C73", "Злокачественное новообразование щитовидной железы", "КТ_ШЕИ"),
    _Diagnosis("#844:95", "C22.0", "Печеночноклеточный рак", "МРТ_БРЮШНОЙ_ПОЛОСТИ"),
)

_DEVICES = {
    "РГ": ("Philips DigitalDiagnost", "Электрон КРТ-Электрон"),
    "КТ": ("Siemens SOMATOM Definition AS", "GE Optima CT660", "Toshiba Aquilion 64"),
    "МРТ": ("Siemens MAGNETOM Aera 1.5T", "Philips Ingenia 1.5T"),
    "УЗИ": ("Samsung Medison RS80A", "GE Voluson E8"),
}
_DOSE_MSV = {"РГ": (0.1, 0.5), "КТ": (2.0, 12.0)}  # MRI and ultrasound carry no dose
_FINDINGS = (
    "Объемное образование с нечеткими контурами, признаки инвазии в окружающие ткани",
    "Очаговые изменения, требующие дифференциальной диагностики",
    "Образование с неоднородной структурой, регионарные лимфоузлы увеличены",
    "Динамика по сравнению с предыдущим исследованием: увеличение размеров образования",
)
_DOC_NAMES = (
    "Прием онколога",
    "Выписной эпикриз",
    "Гистологическое заключение",
    "Консультация химиотерапевта",
    "Общий анализ крови",
)

_CLIENT_DOCTORS = [
    doctor
    for doctor in MED_RESOURCE
    if doctor["date_range"][1] == OPEN_END and doctor["med_org_code"] != EXPERT_MO_CODE
]


def sample_pdf(*lines: str) -> bytes:
    """A small valid one-page PDF showing ASCII `lines`."""
    text = " ".join(
        f"({line.replace(chr(92), '/').replace('(', '[').replace(')', ']')}) Tj 0 -16 Td"
        for line in lines
    )
    stream = f"BT /F1 12 Tf 72 760 Td {text} ET".encode("ascii", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(pdf)


class SampleGenerator:
    """Adds patients and orders to the store; seeded, so a seed gives the same registry."""

    def __init__(self, store: Store, clock: LocalClock, seed: int) -> None:
        self.store = store
        self.clock = clock
        self.random = random.Random(seed)

    def add_orders(
        self,
        count: int,
        *,
        patients: int | None = None,
        missing_optional: bool = False,
        unknown_patient: bool = False,
        created_at: datetime | None = None,
        oddity: Oddity | None = None,
    ) -> tuple[list[str], list[str]]:
        """Add `count` orders spread over `patients` new patients (default: one each).

        unknown_patient: the orders point at patient ids that do not exist.
        missing_optional: the orders carry only the required minimum.
        oddity: the orders differ from the documented example in this way (see variance.py).
        Returns the order ids and the patient ids.
        """
        patient_records = [
            self._new_patient(stored=not unknown_patient) for _ in range(patients or count)
        ]
        order_ids = [
            self._add_order(
                patient_records[index % len(patient_records)], missing_optional, created_at, oddity
            )
            for index in range(count)
        ]
        return order_ids, [patient["id"] for patient in patient_records]

    def _new_patient(self, *, stored: bool) -> dict[str, Any]:
        patient = make_patient(
            self.random, self.store.new_orid(PATIENT_CLUSTER), self.clock.now().date()
        )
        if stored:
            self.store.patients[patient["id"]] = patient
        return patient

    def _add_order(
        self,
        patient: dict[str, Any],
        missing_optional: bool,
        created_at: datetime | None,
        oddity: Oddity | None,
    ) -> str:
        rng = self.random
        # orders appear a little in the past, as a UI save lands before a poll sees it
        created = created_at or self.clock.now() - timedelta(seconds=rng.randint(0, 120))
        order_id = self.store.new_orid(ORDER_CLUSTER)
        diagnosis = rng.choice(
            [d for d in _DIAGNOSES if d.sex in (None, patient["gender"]["caption"])]
        )
        client = rng.choice(_CLIENT_DOCTORS)
        # keys in the order of the documented RecordsPage example
        order: dict[str, Any] = {
            "purpose": dict(rng.choice(TM66_ORDER_PURPOSE)),
            "diagnostics_type": directory_entry(
                "Tm66DiagnosticsType", "code", diagnosis.diagnostics_type
            ),
        }
        if not missing_optional:
            order["description"] = f"Прошу провести ДЭЗО: {order['diagnostics_type']['caption']}"
            order["dz_icd10"] = {
                "orid": diagnosis.orid,
                "code": diagnosis.code,
                "caption": diagnosis.caption,
            }
        order["dz_text"] = f"Подозрение на ЗНО: {diagnosis.caption.lower()}"
        if not missing_optional:
            method = diagnosis.diagnostics_type.split("_")[0]
            order["primary_diagnostics_doc"] = self._primary_doc(order_id, method, created)
            docs = [self._doc(order_id, created) for _ in range(rng.randint(0, 3))]
            if docs:
                order["docs"] = docs
        order["client"] = directory_entry("MedResource", "id", client["id"])
        order["client_mo"] = directory_entry(
            "MedOrganization", "med_org_code", client["med_org_code"]
        )
        order["expert_mo"] = directory_entry("MedOrganization", "id", EXPERT_MO_ID)
        rc: dict[str, Any] = {
            "id": order_id,
            "class_name": ORDER_CLASS,
            "patient_id": patient["id"],
            "ehr_id": patient["id"].replace(f"#{PATIENT_CLUSTER}:", f"#{EHR_CLUSTER}:"),
            "published": {"user_id": CLINICIAN_USER_ID, "time": format_time(created)},
            "org_unit_id": CLINICIAN_ORG_UNIT_ID,
            "time_rc": format_time(created - timedelta(minutes=rng.randint(1, 30))),
            "rc_tm66_order": order,
        }
        if oddity is not None:
            make_odd(rc, oddity)
        self.store.add_record(rc, created)
        return order_id

    def _primary_doc(self, order_id: str, method: str, created: datetime) -> dict[str, Any]:
        rng = self.random
        doc: dict[str, Any] = {
            "method": directory_entry("Tm66DiagnosticsMethod", "code", method),
            "date_time": format_time(created - timedelta(days=rng.randint(1, 20), hours=3)),
            "device": rng.choice(_DEVICES[method]),
            "text": rng.choice(_FINDINGS),
        }
        if method in _DOSE_MSV:
            doc["dose_msv"] = round(rng.uniform(*_DOSE_MSV[method]), 1)
        doc["attachment_id"] = [self._pdf(f"Протокол {method}.pdf", order_id, "primary protocol")]
        return doc

    def _doc(self, order_id: str, created: datetime) -> dict[str, Any]:
        name = self.random.choice(_DOC_NAMES)
        return {
            "date_time": format_time(created - timedelta(days=self.random.randint(2, 60))),
            "name": name,
            "description": f"{name}: краткое описание",
            "attachment_id": [self._pdf(f"{name}.pdf", order_id, "medical document")],
        }

    def _pdf(self, name: str, order_id: str, what: str) -> str:
        data = sample_pdf(f"DEZO order {order_id}", f"Sample {what}")
        return self.store.add_attachment(name, "application/pdf", data, self.clock.now_text()).id
