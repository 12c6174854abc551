"""ONCOR's directories (/directory/get/{Name}) as the emulator serves them.

The Tm66* dictionaries are copied code for code from the ONCOR docs. MedOrganization, MedDepart
and MedResource hold the documented sample entries plus the few the sample orders refer to;
entries marked "invented" exist only in the emulator.
"""

import copy
from typing import Any

DirectoryEntry = dict[str, Any]

OPEN_END = "29991231"  # ONCOR's "still valid" end of a date_range

# Who writes through the API in the docs' examples (status updates, documents).
API_USER_ID = "#961:97"
API_ORG_UNIT_ID = "#993:29"
# Who creates orders in ONCOR's UI (the RecordsPage example).
CLINICIAN_USER_ID = "#961:0"
CLINICIAN_ORG_UNIT_ID = "#999:28"


def _coded(entries: list[tuple[str, str]]) -> list[DirectoryEntry]:
    return [{"code": code, "caption": caption} for code, caption in entries]


def _numbered(entries: list[tuple[str, str]]) -> list[DirectoryEntry]:
    return [
        {"id": str(number), "code": code, "caption": caption}
        for number, (code, caption) in enumerate(entries, start=1)
    ]


TM66_ORDER_PURPOSE = _numbered([
    ("ПОДТВЕРЖДЕНИЕ_ДИАГНОЗА", "Определение (подтверждение) диагноза"),
    ("ПОДТВЕРЖДЕНИЕ_ТАКТИКИ", "Определение (подтверждение) тактики лечения"),
    ("СОГЛАСОВАНИЕ_ГОСПИТАЛИЗАЦИИ", "Согласование условий и срока госпитализации в ФГБУ"),
    ("НЕОБХОДИМОСТЬ_ВМЕШАТЕЛЬСТВА",
     "Необходимость выполнение нового и/или редкого вида оперативного вмешательства, "
     "процедуры и т.д."),
    ("ФОРМИРОВАНИЕ_ЭКСПЕРТНОГО_МНЕНИЯ",
     "Формирование экспертного мнения по результатам диагностических исследований "
     "(МСКТ, МРТ, ПЭТ-КТ и т.п.)"),
    ("РАЗБОР_КЛИНИЧЕСКИХ_СЛУЧАЕВ", "Разбор клинических случаев"),
    ("ДРУГОЕ", "Другое"),
])

TM66_DIAGNOSTICS_TYPE = _coded([
    ("РГ_ГРУДНОЙ_КЛЕТКИ", "Рентгенография органов грудной клетки"),
    ("РГ_ЖЕЛУДКА_ПИЩЕВОДА", "Рентгенография желудка/пищевода"),
    ("КТ_ГОЛОВЫ", "Компьютерная томография головы"),
    ("КТ_ШЕИ", "Компьютерная томография шеи"),
    ("КТ_ГРУДНОЙ_КЛЕТКИ", "Компьютерная томография грудной клетки"),
    ("КТ_БРЮШНОЙ_ПОЛОСТИ", "Компьютерная томография брюшной полости"),
    ("КТ_ТАЗА", "Компьютерная томография таза"),
    ("КТ_КОСТЕЙ_И_СУСТАВОВ", "Компьютерная томография костей и суставов"),
    ("КТ_СЕРДЦА", "Компьютерная томография сердца"),
    ("МРТ_ГОЛОВЫ", "Магниторезонансная томография головы"),
    ("МРТ_ШЕИ", "Магниторезонансная томография шеи"),
    ("МРТ_ГРУДНОЙ_КЛЕТКИ", "Магниторезонансная томография грудной клетки"),
    ("МРТ_БРЮШНОЙ_ПОЛОСТИ", "Магниторезонансная томография брюшной полости"),
    ("МРТ_ТАЗА", "Магниторезонансная томография таза"),
    ("МРТ_КОСТЕЙ_И_СУСТАВОВ", "Магниторезонансная томография костей и суставов"),
    ("МРТ_СЕРДЦА", "Магниторезонансная томография сердца"),
    ("МРТ_СОСУДОВ", "Магниторезонансная томография сосудов"),
    ("УЗИ_БРЮШНОЙ_ПОЛОСТИ", "Ультразвуковое исследование брюшной полости"),
    ("УЗИ_МАЛОГО_ТАЗА", "Ультразвуковое исследование малого таза"),
    ("УЗИ_МОЛОЧНЫХ_ЖЕЛЕЗ", "Ультразвуковое исследование молочных желез"),
])

TM66_DIAGNOSTICS_METHOD = _coded([
    ("РГ", "Рентгенография"),
    ("КТ", "Компьютерная томография"),
    ("МРТ", "Магниторезонансная томография"),
    ("УЗИ", "Ультразвуковое исследование"),
])

TM66_CONCLUSION_TYPE = _coded([
    ("ЗАКЛЮЧЕНИЕ_СОВПАДАЕТ", "Заключение эксперта совпадает с направленным заключением"),
    ("ЗАКЛЮЧЕНИЕ_НЕ_СОВПАДАЕТ", "Заключение эксперта не совпадает с направленным заключением"),
    ("ЗАКЛЮЧЕНИЕ_НЕ_СОВПАДАЕТ_КАРДИНАЛЬНО",
     "Заключение эксперта кардинально не совпадает с направленным заключением"),
    ("ДИАГНОЗ_ПОДТВЕРЖДЕН", "Диагноз подтвержден"),
    ("ДИАГНОЗ_УТОЧНЕН", "Уточнение диагноза"),
    ("ДИАГНОЗ_НЕ_ПОДТВЕРЖДЕН", "Диагноз не подтвержден"),
    ("ИЗМЕНЕНИЕ_ТАКТИКИ_НЕ_ТРЕБУЕТСЯ", "Изменение тактики лечения не требуется"),
    ("ИЗМЕНЕНИЕ_ТАКТИКИ_ТРЕБУЕТСЯ", "Требуется изменение тактики лечения"),
    ("ВМЕШАТЕЛЬСТВО_ТРЕБУЕТСЯ", "Требуется проведение оперативного вмешательства и/или процедуры"),
    ("ДРУГОЕ", "Другое"),
])

TM66_ORDER_REJECT_REASON = _numbered([
    ("ДАННЫЕ_ПАЦИЕНТА", "Недостаточно данных о пациенте"),
    ("КАЧЕСТВО_СНИМКА", "Снимок выполнен некачественно"),
    ("ОБЛАСТЬ_СНИМКА", "Не совпадают локализации ДЭЗО и область снимка"),
    ("НЕВОЗМОЖНО_АССОЦИИРОВАТЬ", "Невозможно ассоциировать снимок и ДЭЗО"),
])

TM66_EXPERT_DICOM_RESULT = _coded([
    ("НАРУШЕНИЙ_НЕТ", "Нарушений нет"),
    ("НЕЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ",
     "Выявлены незначительные нарушения, обусловленные оборудованием, "
     "на котором проводилось исследование"),
    ("ЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ",
     "Выявленные значительные нарушения, не позволяющие сделать достоверные заключения"),
])

TM66_EXPERT_PROTOCOL_RESULT = _coded([
    ("НАРУШЕНИЙ_НЕТ", "Нарушений нет"),
    ("НЕЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ",
     "Выявлены незначительные нарушения, не влияющие на сформированное заключение"),
    ("ЗНАЧИТЕЛЬНЫЕ_НАРУШЕНИЯ",
     "Выявленные значительные нарушения, кардинальным образом меняющие сформированное "
     "заключение"),
])


def _organization(
    code: str, dates: tuple[str, str], names: tuple[str, str], terr_code: str,
    contact: tuple[str, str, str], chief: tuple[str, str, str],
) -> DirectoryEntry:
    address, phone, ogrn = contact
    return {
        "id": f"{code}({dates[0]})", "code": code, "date_range": list(dates),
        "name": names[0], "mo_code": code[2:].lstrip("0"), "long_name": names[1],
        "med_org_code": code, "terr_code": terr_code, "address": address, "phone": phone,
        "ogrn": ogrn, "chief_last_name": chief[0], "chief_first_name": chief[1],
        "chief_patronymic": chief[2],
    }


MED_ORGANIZATION = [
    _organization("660640", ("19960101", "20030827"),
                  ("АЯТСКАЯ Сельская УБ", "АЯТСКАЯ Сельская участковая Больница"), "1201",
                  ("Невьянский р-н с.Аятское ул.Ворошилова,1", "34165", "0"),
                  ("Рыжова", "Надежда", "Викторовна")),
    _organization("660640", ("20030828", "20041124"),
                  ("Амбулат. с.Аятское", "Амбулатория с.Аятское"), "1201",
                  ("Невьянский р-н с.Аятское ул.Ворошилова,1", "34165", "0"),
                  ("Рыжова", "Надежда", "Викторовна")),
    _organization("660640", ("20041125", "20090828"), ("ФАП с.Аятское", "ФАП с.Аятское"), "1201",
                  ("Невьянский р-н с.Аятское ул.Ворошилова,1", "34165", "0"),
                  ("Рыжова", "Надежда", "Викторовна")),
    _organization("661079", ("19970101", "20111231"), ("ШИЛОВСКИЙ ФАП", "ШИЛОВСКИЙ ФАП"), "1301",
                  ("д. Шиловка", "3-27-52", "0"), ("Макарова", "Лариса", "Михайловна")),
    _organization("660122", ("20180906", OPEN_END),
                  ("ЦГБ 7 Екатеринбург",
                   'Муниципальное бюджетное учреждение "Центральная городская больница № 7"'),
                  "1505", ("г. Екатеринбург, ул. Вилонова, д. 33", "8(343)3417318",
                           "1026604963219"), ("Барац", "Евгений", "Семенович")),
    _organization("661768", ("20190823", OPEN_END),
                  ("СООД Екатеринбург",
                   "Государственное автономное учреждение здравоохранения Свердловской области "
                   '"Свердловский областной онкологический диспансер"'),
                  "1502", ("г. Екатеринбург, ул. Соболева, 29", "8(343)3561505", "1146658016614"),
                  ("Елишев", "Владимир", "Геннадьевич")),
    # invented: the clinics of the documented MedResource doctors and of the sample clients
    _organization("660010", ("20170101", OPEN_END),
                  ("ГБ Асбест", 'Государственное автономное учреждение здравоохранения '
                                'Свердловской области "Городская больница город Асбест"'),
                  "1101", ("г. Асбест, ул. Уральская, д. 84", "8(34365)75051", "1026600580660"),
                  ("Лещенко", "Ирина", "Викторовна")),
    _organization("660236", ("20180301", OPEN_END),
                  ("ЦГБ Верхняя Пышма", 'Государственное автономное учреждение здравоохранения '
                                        'Свердловской области "Центральная городская больница '
                                        'город Верхняя Пышма"'),
                  "1601", ("г. Верхняя Пышма, ул. Чайковского, д. 32", "8(34368)46312",
                           "1026600730567"), ("Сорокина", "Марина", "Александровна")),
]

EXPERT_MO_CODE = "661768"  # СООД Екатеринбург, the expert centre of the docs' examples
EXPERT_MO_ID = f"{EXPERT_MO_CODE}(20190823)"


def _department(
    depart_code: str, med_org_code: str, dates: tuple[str, str], names: tuple[str, str, str],
    type_help: str,
) -> DirectoryEntry:
    code = f"{depart_code}-{med_org_code}"
    return {
        "id": f"{code}({dates[0]})", "code": code, "date_range": list(dates), "name": names[0],
        "depart_code": depart_code, "med_org_code": med_org_code, "name_full": names[1],
        "name_short": names[2], "type_help": type_help,
    }


MED_DEPART = [
    _department("90020000", "660133", ("19930101", "20141231"),
                ("Хирургическое", "Хирургическое отделение", "Хирургическое"), "3"),
    _department("90040000", "660133", ("19930101", "20141231"),
                ("Ортопедическое", "Ортопедическое отделение", "Ортопедическое"), "3"),
    _department("120000", "660709", ("20180705", OPEN_END),
                ("Детское фтизиатрическое отделение № 2",
                 "Детское фтизиатрическое отделение № 2 , г. Екатеринбург, Сибирский тракт, "
                 "д. 8, литер 21", "Детское фтизиатрическое отделение № 2"), "1"),
    _department("50000", "660113", ("20180801", OPEN_END),
                ("Неврологическое № 2", "Неврологическое отделение № 2", "Неврологическое № 2"),
                "1"),
    # invented: the expert centre's departments
    _department("10000", "661768", ("20190823", OPEN_END),
                ("Рентгенологическое", "Рентгенологическое отделение", "Рентгенологическое"), "1"),
    _department("20000", "661768", ("20190823", OPEN_END),
                ("КТ и МРТ", "Отделение компьютерной и магнитно-резонансной томографии",
                 "КТ и МРТ"), "1"),
    _department("30000", "661768", ("20190823", OPEN_END),
                ("Телемедицинских консультаций", "Отдел телемедицинских консультаций",
                 "Телемедицина"), "1"),
]


def _doctor(
    doctor_code: str, med_org_code: str, med_spec_code: str, dates: tuple[str, str], name: str,
) -> DirectoryEntry:
    code = f"{doctor_code}-{med_org_code}-{med_spec_code}"
    return {
        "id": f"{code}({dates[0]})", "code": code, "date_range": list(dates), "name": name,
        "doctor_code": doctor_code, "doctor_name": name, "med_org_code": med_org_code,
        "med_spec_code": med_spec_code,
    }


MED_RESOURCE = [
    _doctor("140", "660010", "206", ("20170101", "20181231"), "ЗБИНСКАЯ Е И"),
    _doctor("140", "660010", "206", ("20190101", OPEN_END), "ЗБИНСКАЯ Е И"),
    _doctor("220", "660010", "9", ("20170101", "20170228"), "КУЗНЕЦОВА Д С"),
    _doctor("220", "660010", "15", ("20170101", "20181231"), "КУЗНЕЦОВА Д С"),
    _doctor("39115", "661768", "26", ("20190905", OPEN_END), "НОВОСЕЛОВА О О"),
    _doctor("28402", "660122", "41", ("20190101", OPEN_END), "ДАВЫДАЧЕВА Т В"),
    # invented: more experts of the expert centre and clients of the sample orders
    _doctor("40217", "661768", "26", ("20190905", OPEN_END), "ЛАВРЕНТЬЕВ А П"),
    _doctor("41502", "661768", "63", ("20200110", OPEN_END), "ГОРБУНОВА Е С"),
    _doctor("28977", "660122", "41", ("20190101", OPEN_END), "СИМОНОВ Д А"),
    _doctor("15530", "660010", "41", ("20190101", OPEN_END), "КАРПОВА Н В"),
    _doctor("16022", "660236", "76", ("20180301", OPEN_END), "ЗУЕВ М Н"),
]

# DrPrsG: the patient's gender as /patient/get shows it.
GENDER_MALE = {"orid": "#721:0", "id": "1", "caption": "М"}
GENDER_FEMALE = {"orid": "#723:0", "id": "2", "caption": "Ж"}

DIRECTORIES: dict[str, list[DirectoryEntry]] = {
    "Tm66OrderPurpose": TM66_ORDER_PURPOSE,
    "Tm66DiagnosticsType": TM66_DIAGNOSTICS_TYPE,
    "Tm66DiagnosticsMethod": TM66_DIAGNOSTICS_METHOD,
    "Tm66ConclusionType": TM66_CONCLUSION_TYPE,
    "Tm66OrderRejectReason": TM66_ORDER_REJECT_REASON,
    "Tm66ExpertDicomResult": TM66_EXPERT_DICOM_RESULT,
    "Tm66ExpertProtocolResult": TM66_EXPERT_PROTOCOL_RESULT,
    "MedOrganization": MED_ORGANIZATION,
    "MedDepart": MED_DEPART,
    "MedResource": MED_RESOURCE,
}


def find_entry(directory: str, key: str, value: str) -> DirectoryEntry | None:
    """A copy of the first entry of a directory whose `key` equals `value`."""
    entries = DIRECTORIES[directory]
    found = next((candidate for candidate in entries if candidate.get(key) == value), None)
    return copy.deepcopy(found)


def directory_entry(directory: str, key: str, value: str) -> DirectoryEntry:
    """Like find_entry, for entries the emulator's own data refers to."""
    found = find_entry(directory, key, value)
    if found is None:
        raise LookupError(f"{directory} has no entry with {key}={value!r}")
    return found
