"""Medical organizations, their departments and doctors: MedOrganization, MedDepart, MedResource.

The documented sample entries, plus the few the sample orders and documents refer to; entries
marked "invented" exist only in the emulator.
"""

from typing import Any

DirectoryEntry = dict[str, Any]

OPEN_END = "29991231"  # ONCOR's "still valid" end of a date_range


def _organization(
    code: str,
    dates: tuple[str, str],
    names: tuple[str, str],
    terr_code: str,
    contact: tuple[str, str, str],
    chief: tuple[str, str, str],
) -> DirectoryEntry:
    address, phone, ogrn = contact
    return {
        "id": f"{code}({dates[0]})",
        "code": code,
        "date_range": list(dates),
        "name": names[0],
        "mo_code": code[2:].lstrip("0"),
        "long_name": names[1],
        "med_org_code": code,
        "terr_code": terr_code,
        "address": address,
        "phone": phone,
        "ogrn": ogrn,
        "chief_last_name": chief[0],
        "chief_first_name": chief[1],
        "chief_patronymic": chief[2],
    }


MED_ORGANIZATION = [
    _organization(
        "660640",
        ("19960101", "20030827"),
        ("АЯТСКАЯ Сельская УБ", "АЯТСКАЯ Сельская участковая Больница"),
        "1201",
        ("Невьянский р-н с.Аятское ул.Ворошилова,1", "34165", "0"),
        ("Рыжова", "Надежда", "Викторовна"),
    ),
    _organization(
        "660640",
        ("20030828", "20041124"),
        ("Амбулат. с.Аятское", "Амбулатория с.Аятское"),
        "1201",
        ("Невьянский р-н с.Аятское ул.Ворошилова,1", "34165", "0"),
        ("Рыжова", "Надежда", "Викторовна"),
    ),
    _organization(
        "660640",
        ("20041125", "20090828"),
        ("ФАП с.Аятское", "ФАП с.Аятское"),
        "1201",
        ("Невьянский р-н с.Аятское ул.Ворошилова,1", "34165", "0"),
        ("Рыжова", "Надежда", "Викторовна"),
    ),
    _organization(
        "661079",
        ("19970101", "20111231"),
        ("ШИЛОВСКИЙ ФАП", "ШИЛОВСКИЙ ФАП"),
        "1301",
        ("д. Шиловка", "3-27-52", "0"),
        ("Макарова", "Лариса", "Михайловна"),
    ),
    _organization(
        "660122",
        ("20180906", OPEN_END),
        (
            "ЦГБ 7 Екатеринбург",
            'Муниципальное бюджетное учреждение "Центральная городская больница № 7"',
        ),
        "1505",
        ("г. Екатеринбург, ул. Вилонова, д. 33", "8(343)3417318", "1026604963219"),
        ("Барац", "Евгений", "Семенович"),
    ),
    _organization(
        "661768",
        ("20190823", OPEN_END),
        (
            "СООД Екатеринбург",
            "Государственное автономное учреждение здравоохранения Свердловской области "
            '"Свердловский областной онкологический диспансер"',
        ),
        "1502",
        ("г. Екатеринбург, ул. Соболева, 29", "8(343)3561505", "1146658016614"),
        ("Елишев", "Владимир", "Геннадьевич"),
    ),
    # invented: the clinics of the documented MedResource doctors and of the sample clients
    _organization(
        "660010",
        ("20170101", OPEN_END),
        (
            "ГБ Асбест",
            "Государственное автономное учреждение здравоохранения "
            'Свердловской области "Городская больница город Асбест"',
        ),
        "1101",
        ("г. Асбест, ул. Уральская, д. 84", "8(34365)75051", "1026600580660"),
        ("Лещенко", "Ирина", "Викторовна"),
    ),
    _organization(
        "660236",
        ("20180301", OPEN_END),
        (
            "ЦГБ Верхняя Пышма",
            "Государственное автономное учреждение здравоохранения "
            'Свердловской области "Центральная городская больница '
            'город Верхняя Пышма"',
        ),
        "1601",
        ("г. Верхняя Пышма, ул. Чайковского, д. 32", "8(34368)46312", "1026600730567"),
        ("Сорокина", "Марина", "Александровна"),
    ),
]

EXPERT_MO_CODE = "661768"  # СООД Екатеринбург, the expert centre of the docs' examples
EXPERT_MO_ID = f"{EXPERT_MO_CODE}(20190823)"


def _department(
    depart_code: str,
    med_org_code: str,
    dates: tuple[str, str],
    names: tuple[str, str, str],
    type_help: str,
) -> DirectoryEntry:
    code = f"{depart_code}-{med_org_code}"
    return {
        "id": f"{code}({dates[0]})",
        "code": code,
        "date_range": list(dates),
        "name": names[0],
        "depart_code": depart_code,
        "med_org_code": med_org_code,
        "name_full": names[1],
        "name_short": names[2],
        "type_help": type_help,
    }


MED_DEPART = [
    _department(
        "90020000",
        "660133",
        ("19930101", "20141231"),
        ("Хирургическое", "Хирургическое отделение", "Хирургическое"),
        "3",
    ),
    _department(
        "90040000",
        "660133",
        ("19930101", "20141231"),
        ("Ортопедическое", "Ортопедическое отделение", "Ортопедическое"),
        "3",
    ),
    _department(
        "120000",
        "660709",
        ("20180705", OPEN_END),
        (
            "Детское фтизиатрическое отделение № 2",
            "Детское фтизиатрическое отделение № 2 , г. Екатеринбург, Сибирский тракт, "
            "д. 8, литер 21",
            "Детское фтизиатрическое отделение № 2",
        ),
        "1",
    ),
    _department(
        "50000",
        "660113",
        ("20180801", OPEN_END),
        ("Неврологическое № 2", "Неврологическое отделение № 2", "Неврологическое № 2"),
        "1",
    ),
    # invented: the expert centre's departments
    _department(
        "10000",
        "661768",
        ("20190823", OPEN_END),
        ("Рентгенологическое", "Рентгенологическое отделение", "Рентгенологическое"),
        "1",
    ),
    _department(
        "20000",
        "661768",
        ("20190823", OPEN_END),
        ("КТ и МРТ", "Отделение компьютерной и магнитно-резонансной томографии", "КТ и МРТ"),
        "1",
    ),
    _department(
        "30000",
        "661768",
        ("20190823", OPEN_END),
        ("Телемедицинских консультаций", "Отдел телемедицинских консультаций", "Телемедицина"),
        "1",
    ),
]


def _doctor(
    doctor_code: str,
    med_org_code: str,
    med_spec_code: str,
    dates: tuple[str, str],
    name: str,
) -> DirectoryEntry:
    code = f"{doctor_code}-{med_org_code}-{med_spec_code}"
    return {
        "id": f"{code}({dates[0]})",
        "code": code,
        "date_range": list(dates),
        "name": name,
        "doctor_code": doctor_code,
        "doctor_name": name,
        "med_org_code": med_org_code,
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
