"""Made-up Russian patients: names in the right gender, ONCOR's patient code, SNILS, phones."""

import random
from datetime import date, timedelta
from typing import Any

# DrPrsG: the patient's gender as /patient/get shows it
GENDER_MALE = {"orid": "#721:0", "id": "1", "caption": "М"}
GENDER_FEMALE = {"orid": "#723:0", "id": "2", "caption": "Ж"}

_MALE_FIRST_NAMES = (
    "Александр",
    "Сергей",
    "Андрей",
    "Владимир",
    "Николай",
    "Виктор",
    "Михаил",
    "Юрий",
    "Геннадий",
    "Олег",
    "Игорь",
    "Павел",
    "Дмитрий",
    "Анатолий",
    "Евгений",
    "Василий",
)
_FEMALE_FIRST_NAMES = (
    "Елена",
    "Ольга",
    "Татьяна",
    "Наталья",
    "Ирина",
    "Светлана",
    "Галина",
    "Людмила",
    "Марина",
    "Надежда",
    "Валентина",
    "Любовь",
    "Анна",
    "Вера",
    "Нина",
    "Лариса",
)
# patronymics from the father's name: (for a son, for a daughter)
_PATRONYMICS = (
    ("Александрович", "Александровна"),
    ("Сергеевич", "Сергеевна"),
    ("Иванович", "Ивановна"),
    ("Николаевич", "Николаевна"),
    ("Петрович", "Петровна"),
    ("Михайлович", "Михайловна"),
    ("Юрьевич", "Юрьевна"),
    ("Анатольевич", "Анатольевна"),
    ("Геннадьевич", "Геннадьевна"),
    ("Васильевич", "Васильевна"),
    ("Дмитриевич", "Дмитриевна"),
    ("Евгеньевич", "Евгеньевна"),
    ("Павлович", "Павловна"),
    ("Викторович", "Викторовна"),
    ("Андреевич", "Андреевна"),
)
# surnames: (male, female)
_SURNAMES = (
    ("Иванов", "Иванова"),
    ("Смирнов", "Смирнова"),
    ("Кузнецов", "Кузнецова"),
    ("Попов", "Попова"),
    ("Васильев", "Васильева"),
    ("Соколов", "Соколова"),
    ("Михайлов", "Михайлова"),
    ("Новиков", "Новикова"),
    ("Морозов", "Морозова"),
    ("Волков", "Волкова"),
    ("Лебедев", "Лебедева"),
    ("Семенов", "Семенова"),
    ("Егоров", "Егорова"),
    ("Козлов", "Козлова"),
    ("Орлов", "Орлова"),
    ("Зайцев", "Зайцева"),
    ("Никитин", "Никитина"),
    ("Калинин", "Калинина"),
    ("Ильин", "Ильина"),
    ("Покровский", "Покровская"),
    ("Вишневский", "Вишневская"),
    ("Белозерский", "Белозерская"),
    ("Толстой", "Толстая"),
    ("Черных", "Черных"),
    ("Седых", "Седых"),
)


def make_patient(rng: random.Random, patient_id: str, today: date) -> dict[str, Any]:
    """A Patient as /patient/get answers it."""
    male = rng.random() < 0.5
    gender = 0 if male else 1
    first_name = rng.choice(_MALE_FIRST_NAMES if male else _FEMALE_FIRST_NAMES)
    middle_name = rng.choice(_PATRONYMICS)[gender]
    last_name = rng.choice(_SURNAMES)[gender]
    birth_day = today - timedelta(days=rng.randint(30 * 365, 85 * 365))
    sex = "М" if male else "Ж"
    return {
        "id": patient_id,
        "first_name": first_name,
        "middle_name": middle_name,
        "last_name": last_name,
        "birth_day": birth_day.isoformat(),
        "gender": dict(GENDER_MALE if male else GENDER_FEMALE),
        # as the doc's "ИИИ010101М": initials, birth date as DDMMYY, sex
        "code": f"{last_name[0]}{first_name[0]}{middle_name[0]}{birth_day:%d%m%y}{sex}",
        "ehr_count": 1,
        "company_name": "",
        "snils": snils(rng),
        "phones": f"+7 9{rng.randint(0, 99):02d} {rng.randint(0, 999):03d}-"
        f"{rng.randint(0, 99):02d}-{rng.randint(0, 99):02d}",
    }


def snils(rng: random.Random) -> str:
    """A SNILS `NNN-NNN-NNN CC` with a valid check number."""
    number = f"{rng.randint(2_000_000, 999_999_999):09d}"
    weighted = sum(int(digit) * (9 - index) for index, digit in enumerate(number))
    check = weighted % 101 if weighted > 101 else weighted
    check = 0 if check >= 100 else check
    return f"{number[:3]}-{number[3:6]}-{number[6:]} {check:02d}"
