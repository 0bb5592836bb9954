"""The one exception the exam services raise when a kiosk request must be refused."""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    """Refuse a kiosk request with a machine-readable code and a Chinese message for the screen."""

    # ``keep`` asks the caller to commit what the service recorded before refusing: a failed face
    # check must be counted even though the request fails.

    def __init__(self, code: str, message: str = "", *, keep: bool = False, **extra: Any) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message
        self.keep = keep
        self.extra = extra
