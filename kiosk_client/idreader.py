"""Read the worker's citizen ID: the screen's keypad, a file (tests, demos) or any other card reader."""

from __future__ import annotations

import json
import logging
import queue
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def valid_citizen_id(value: str) -> bool:
    """Tell whether an 18-character ID has GB 11643's form and check digit (the server checks the date)."""
    value = value.strip().upper()
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        return False
    return _CHECK[sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=False)) % 11] == value[17]


@dataclass(frozen=True)
class IdCard:
    """What a reader gives: the ID number and, from a chip card, the photo (JPEG bytes)."""

    citizen_id: str
    chip_photo: bytes | None = None


class IdCardReader(Protocol):
    """A source of ID cards; `poll` returns a card once, when one was presented."""

    name: str

    def poll(self) -> IdCard | None: ...


class KeyboardReader:
    """The ID typed on the screen's keypad."""

    name = "keypad"

    def __init__(self) -> None:
        self._typed: queue.Queue[IdCard] = queue.Queue()

    def type_in(self, citizen_id: str) -> None:
        """Take an ID typed on the screen's keypad."""
        self._typed.put(IdCard(citizen_id.strip().upper()))

    def poll(self) -> IdCard | None:
        """Return the card presented since the last call, if any."""
        try:
            return self._typed.get_nowait()
        except queue.Empty:
            return None


class FileReader:
    """A card 'presented' by writing JSON {"citizen_id", "chip_photo": path} to a file; it is read once."""

    name = "file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def poll(self) -> IdCard | None:
        """Return the card presented since the last call, if any."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        # Consume the card: a card lying on the reader must not start a second check-in.
        self.path.unlink(missing_ok=True)
        try:
            data = json.loads(text)
            photo_path = data.get("chip_photo")
            photo = Path(photo_path).read_bytes() if photo_path else None
            return IdCard(str(data["citizen_id"]).strip().upper(), photo)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            log.warning("id card file %s unreadable: %s", self.path, exc)
            return None
