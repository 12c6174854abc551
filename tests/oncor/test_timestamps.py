"""ONCOR times in every form its examples and ISO 8601 allow, read as moments in ONCOR's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from adapter.oncor.timestamps import parse_oncor_time

ZONE = ZoneInfo("Asia/Yekaterinburg")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-05-18 20:13:06", "2020-05-18T20:13:06+05:00"),  # the documented examples
        ("2020-05-18T20:13:06", "2020-05-18T20:13:06+05:00"),
        ("2020-05-18 20:13:06.250", "2020-05-18T20:13:06.250000+05:00"),
        ("2020-05-18T20:13:06.123456", "2020-05-18T20:13:06.123456+05:00"),
        ("2020-05-18T20:13:06,5", "2020-05-18T20:13:06.500000+05:00"),
        ("2020-05-18T20:13", "2020-05-18T20:13:00+05:00"),
        ("2020-05-18T15:13:06Z", "2020-05-18T20:13:06+05:00"),
        ("2020-05-18T18:13:06+03:00", "2020-05-18T20:13:06+05:00"),
        ("2020-05-18", "2020-05-18T00:00:00+05:00"),
        (" 2020-05-18 20:13:06 ", "2020-05-18T20:13:06+05:00"),
    ],
)
def test_time_is_read_in_every_iso_form_without_offset_in_oncors_zone(
    text: str, expected: str
) -> None:
    assert parse_oncor_time(text, ZONE) == datetime.fromisoformat(expected)
    assert parse_oncor_time(text, ZONE).utcoffset() == datetime.fromisoformat(expected).utcoffset()


@pytest.mark.parametrize("text", ["yesterday", "18.05.2020 20:13", "2020-13-01 00:00:00", ""])
def test_time_that_is_not_iso_8601_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_oncor_time(text, ZONE)
