from datetime import date

import pytest

from exam_server.citizen_id import InvalidCitizenId, check_digit, gender_of, mask, normalise_citizen_id

# By hand: digits 37130219900307125 times weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 sum to 270;
# 270 % 11 = 6 and "10X98765432"[6] = "6".
VALID = "371302199003071256"


def test_check_digit_computed_by_hand():
    assert check_digit(VALID[:17]) == "6"


def test_valid_id_gives_birth_date_and_gender():
    value, birth = normalise_citizen_id(VALID)
    assert value == VALID
    assert birth == date(1990, 3, 7)
    assert gender_of(VALID) == "M"  # 17th digit 5 is odd


def test_x_check_digit_is_normalised_to_upper_case():
    first17 = next(f"3713021985010100{i}" for i in range(10) if check_digit(f"3713021985010100{i}") == "X")
    assert normalise_citizen_id(first17 + "x")[0] == first17 + "X"


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("371302199003071257", "校验位错误，应为6"),
        ("371302199002301234", "出生日期19900230无效"),
        ("37130219900307125", "应为18位，实际17位"),
        ("3713021990030712577", "应为18位，实际19位"),
        ("", "应为18位，实际0位"),
        ("37130219900307A257", "前17位须为数字"),
        ("991302199003071257", "地区码991302无效"),
    ],
)
def test_invalid_ids_are_refused_with_the_reason(raw, fragment):
    with pytest.raises(InvalidCitizenId, match=fragment):
        normalise_citizen_id(raw)


def test_future_birth_date_is_refused():
    first17 = "37130220990101123"
    with pytest.raises(InvalidCitizenId, match="不合理"):
        normalise_citizen_id(first17 + check_digit(first17), today=date(2026, 1, 1))


def test_mask_hides_birth_date():
    assert mask(VALID) == "3713**********1256"
