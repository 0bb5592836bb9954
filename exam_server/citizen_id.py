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


def N_(text: str) -> str:
    """Mark a msgid for pybabel (models.N_; models import this module, so it cannot import them)."""
    return text


class InvalidCitizenId(ValueError):
    """Raise with a message that says exactly what is wrong with the ID.

    ``msgid`` (marked with N_, without the leading "身份证号") and ``params`` let the console show it in its
    language (i18n.error_text, the import problems); ``str()`` is "身份证号… / citizen ID …" as the kiosk shows it.
    """

    def __init__(self, msgid: str, english: str, **params: object) -> None:
        self.msgid, self.params = msgid, params
        super().__init__(f"身份证号{msgid % params} / {english % params}")


def check_digit(first17: str) -> str:
    """Return the GB 11643-1999 check character for 17 leading digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=False))
    return CHECK_CHARS[total % 11]


def normalise_citizen_id(raw: str, today: date | None = None) -> tuple[str, date]:
    """Return the ID in canonical form (upper-case X) and the birth date, or raise InvalidCitizenId."""
    value = (raw or "").strip().upper()
    if len(value) != 18:
        raise InvalidCitizenId(
            N_("应为18位，实际%(length)s位"), "citizen ID must have 18 characters, got %(length)s", length=len(value)
        )
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise InvalidCitizenId(N_("前17位须为数字，末位为数字或X"), "citizen ID must be 17 digits then a digit or X")
    if value[:2] not in PROVINCE_CODES:
        raise InvalidCitizenId(N_("地区码%(code)s无效"), "unknown region code %(code)s", code=value[:6])
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidCitizenId(N_("出生日期%(date)s无效"), "invalid birth date %(date)s", date=value[6:14]) from None
    today = today or localday.today()
    if birth > today or birth.year < 1900:
        raise InvalidCitizenId(N_("出生日期%(date)s不合理"), "implausible birth date %(date)s", date=value[6:14])
    expected = check_digit(value[:17])
    if value[17] != expected:
        raise InvalidCitizenId(
            N_("校验位错误，应为%(expected)s"), "check digit should be %(expected)s", expected=expected
        )
    return value, birth


def gender_of(citizen_id: str) -> str:
    """Return 'M' or 'F' from the sequence digit (odd is male)."""
    return "M" if int(citizen_id[16]) % 2 else "F"


def mask(citizen_id: str) -> str:
    """Return the ID with the birth date and sequence hidden, for public pages."""
    return citizen_id[:4] + "*" * 10 + citizen_id[-4:]
