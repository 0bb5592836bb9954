"""ID card readers: the keypad, a JSON file, and the check digit typed IDs must have."""

from __future__ import annotations

import json

import pytest

from kiosk_client.idreader import FileReader, KeyboardReader, valid_citizen_id


@pytest.mark.parametrize(
    "value, ok",
    [
        ("110101199003070038", True),
        ("11010119900307003X", False),
        ("110101199003070039", False),
        ("11010119900307003", False),
        ("37130219680102555x", True),
        ("abc", False),
    ],
)
def test_check_digit(value, ok):
    assert valid_citizen_id(value) is ok


def test_keypad_gives_each_typed_id_once():
    reader = KeyboardReader()
    assert reader.poll() is None
    reader.type_in(" 37130219680102555x ")
    card = reader.poll()
    assert card.citizen_id == "37130219680102555X" and card.chip_photo is None
    assert reader.poll() is None


def test_file_reader_reads_a_presented_card_with_its_chip_photo_once(tmp_path):
    photo = tmp_path / "chip.jpg"
    photo.write_bytes(b"\xff\xd8 chip photo")
    card_file = tmp_path / "card.json"
    reader = FileReader(card_file)
    assert reader.poll() is None
    card_file.write_text(json.dumps({"citizen_id": "110101199003070038", "chip_photo": str(photo)}))
    card = reader.poll()
    assert card.citizen_id == "110101199003070038" and card.chip_photo == b"\xff\xd8 chip photo"
    assert reader.poll() is None and not card_file.exists()


def test_file_reader_skips_a_malformed_card(tmp_path):
    card_file = tmp_path / "card.json"
    card_file.write_text("{not json")
    assert FileReader(card_file).poll() is None
