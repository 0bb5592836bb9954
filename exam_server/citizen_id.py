"""Validate 18-digit resident citizen IDs (GB 11643-1999)."""

from __future__ import annotations

from datetime import date

from exam_server import localday

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# First two digits: provinces, autonomous regions, municipalities (GB/T 2260), plus Taiwan, HK, Macau.
PROVINCE_CODES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)


class InvalidCitizenId(ValueError):
    """Raise with a message that says exactly what is wrong with the ID."""


def check_digit(first17: str) -> str:
    """Return the GB 11643-1999 check character for 17 leading digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=False))
    return CHECK_CHARS[total % 11]


def normalise_citizen_id(raw: str, today: date | None = None) -> tuple[str, date]:
    """Return the ID in canonical form (upper-case X) and the birth date, or raise InvalidCitizenId."""
    value = (raw or "").strip().upper()
    if len(value) != 18:
        raise InvalidCitizenId(
            f"身份证号应为18位，实际{len(value)}位 / citizen ID must have 18 characters, got {len(value)}"
        )
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise InvalidCitizenId("身份证号前17位须为数字，末位为数字或X / citizen ID must be 17 digits then a digit or X")
    if value[:2] not in PROVINCE_CODES:
        raise InvalidCitizenId(f"身份证号地区码{value[:6]}无效 / unknown region code {value[:6]}")
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidCitizenId(f"身份证号出生日期{value[6:14]}无效 / invalid birth date {value[6:14]}") from None
    today = today or localday.today()
    if birth > today or birth.year < 1900:
        raise InvalidCitizenId(f"身份证号出生日期{value[6:14]}不合理 / implausible birth date {value[6:14]}")
    expected = check_digit(value[:17])
    if value[17] != expected:
        raise InvalidCitizenId(f"身份证号校验位错误，应为{expected} / check digit should be {expected}")
    return value, birth


def gender_of(citizen_id: str) -> str:
    """Return 'M' or 'F' from the sequence digit (odd is male)."""
    return "M" if int(citizen_id[16]) % 2 else "F"


def mask(citizen_id: str) -> str:
    """Return the ID with the birth date and sequence hidden, for public pages."""
    return citizen_id[:4] + "*" * 10 + citizen_id[-4:]
