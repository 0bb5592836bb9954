"""Talk to the exam server's kiosk API (/api/v1) with the device token, over HTTP with timeouts."""

from __future__ import annotations

import base64
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 15.0
# A burst is analysed frame by frame on the server: give it longer.
BURST_TIMEOUT = 60.0
# How long a worker stands before the kiosk while the face pool says it is busy, before being asked to try later.
BUSY_PATIENCE = 180.0


class ServerUnreachable(Exception):
    """Raise when the server cannot be reached or fails (5xx): try again later, keep the data."""


class Busy(ServerUnreachable):
    """Raise when the face pool turned a burst away before analysing it (503 face_busy): resend after retry_after s."""

    def __init__(self, text: str, retry_after: float, message: str = "") -> None:
        super().__init__(text)
        self.retry_after = retry_after
        self.message = message


@dataclass
class Refusal(Exception):
    """Raise when the server answers with a 4xx error body; `code` is the contract's error code."""

    status: int
    code: str
    message: str
    body: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class KioskApi:
    """Call each endpoint of the kiosk API contract (docs/kiosk-api.md)."""

    def __init__(self, base_url: str, token: str, timeout: float = READ_TIMEOUT, face_url: str | None = None) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        # Bursts and captures may go to a separate face pool, so face work never queues answers.
        self.face_base = (face_url or base_url).rstrip("/") + "/api/v1"
        self.timeout = timeout
        self.session = requests.Session()
        # The token travels only in this header, never in a URL that could end up in a log.
        self.session.headers.update({"Authorization": f"Bearer {token}", "User-Agent": "kiosk-client/1"})

    def _call(self, method: str, path: str, timeout: float | None = None, base: str | None = None, **kwargs) -> dict:
        url = (base or self.base) + path
        try:
            response = self.session.request(method, url, timeout=(CONNECT_TIMEOUT, timeout or self.timeout), **kwargs)
        except requests.RequestException as exc:
            raise ServerUnreachable(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 503 and body.get("error") == "face_busy":
            raise Busy(f"{method} {path}: face pool busy", float(body.get("retry_after") or 5), body.get("message", ""))
        if response.status_code == 429:
            # Over the token's rate limit: nothing was done, so the answer or burst is sent again later, never dropped.
            wait = body.get("retry_after") or response.headers.get("Retry-After") or 5
            raise Busy(f"{method} {path}: rate limited", float(wait), body.get("message", ""))
        if response.status_code >= 500 or (response.status_code >= 400 and "error" not in body):
            # A proxy's error page or a server fault: nothing was decided, so the request may be repeated.
            raise ServerUnreachable(f"{method} {path}: HTTP {response.status_code} {body.get('error', '')}".strip())
        if response.status_code >= 400:
            raise Refusal(response.status_code, body["error"], body.get("message", ""), body)
        return body

    def ping(self) -> dict:
        """Prove the token and read the server's clock."""
        return self._call("GET", "/ping")

    def consent_notice(self) -> dict:
        """Read what the consent notice must tell: how long the server keeps kiosk frames."""
        return self._call("GET", "/consent-notice")

    def checkin(self, citizen_id: str, chip_photo: bytes | None = None, consent: dict | None = None) -> dict:
        """Start a check-in for a citizen ID, with the worker's consent and the chip photo of a card reader."""
        payload: dict = {"citizen_id": citizen_id}
        if consent:
            payload["consent"] = consent
        if chip_photo:
            payload["chip_photo"] = base64.b64encode(chip_photo).decode("ascii")
        return self._call("POST", "/checkins", json=payload)

    def send_burst(self, checkin_id: int, checkin_token: str, frames: list[bytes]) -> dict:
        """Send the challenge's burst of JPEG frames, in capture order."""
        files = [("frames", (f"frame{n:02d}.jpg", data, "image/jpeg")) for n, data in enumerate(frames)]
        return self._call(
            "POST",
            f"/checkins/{checkin_id}/frames",
            timeout=BURST_TIMEOUT,
            base=self.face_base,
            data={"checkin_token": checkin_token},
            files=files,
        )

    def set_pin(self, sitting_id: int, pin: str) -> dict:
        """Set the worker's practice sign-in PIN after the sitting this kiosk just submitted."""
        return self._call("POST", f"/sittings/{sitting_id}/pin", json={"pin": pin})

    def sign_in_code(self, sitting_id: int) -> dict:
        """Ask for a one-time sign-in address for the worker's phone, after the sitting this kiosk just submitted."""
        return self._call("POST", f"/sittings/{sitting_id}/sign-in-code")

    def sitting(self, sitting_id: int) -> dict:
        """Read the sitting: paper, saved answers, result."""
        return self._call("GET", f"/sittings/{sitting_id}")

    def item_image(self, sitting_id: int, item_no: int) -> tuple[bytes, str]:
        """Fetch the picture an item of the paper shows; return (bytes, PNG or JPEG media type)."""
        path = f"/sittings/{sitting_id}/items/{item_no}/image"
        try:
            response = self.session.get(self.base + path, timeout=(CONNECT_TIMEOUT, self.timeout))
        except requests.RequestException as exc:
            raise ServerUnreachable(f"GET {path}: {type(exc).__name__}: {exc}") from None
        kind = response.headers.get("Content-Type", "").split(";")[0].strip()
        if response.status_code != 200 or kind not in ("image/png", "image/jpeg"):
            # Only a picture the server vouches for reaches the screen: anything else is treated as unavailable.
            raise ServerUnreachable(f"GET {path}: HTTP {response.status_code} {kind}".strip())
        return response.content, kind

    def save_answer(self, sitting_id: int, item_no: int, response: str, idempotency_key: str) -> dict:
        """Save one item's response under an idempotency key."""
        return self._call(
            "PUT",
            f"/sittings/{sitting_id}/answers/{item_no}",
            json={"response": response, "idempotency_key": idempotency_key},
        )

    def clock(self, sitting_id: int) -> dict:
        """Read the server's clock and any face capture due."""
        return self._call("GET", f"/sittings/{sitting_id}/clock")

    def capture(self, sitting_id: int, nonce: str, frame: bytes) -> dict:
        """Send the frame answering a capture request."""
        return self._call(
            "POST",
            f"/sittings/{sitting_id}/captures",
            timeout=BURST_TIMEOUT,
            base=self.face_base,
            data={"nonce": nonce},
            files=[("frame", ("frame.jpg", frame, "image/jpeg"))],
        )

    def submit(self, sitting_id: int, idempotency_key: str) -> dict:
        """Submit the sitting for grading."""
        return self._call("POST", f"/sittings/{sitting_id}/submit", json={"idempotency_key": idempotency_key})


def patiently(
    send: Callable[[], dict],
    on_wait: Callable[[float], None],
    patience: float = BUSY_PATIENCE,
    sleep: Callable[[float], None] = time.sleep,
) -> dict:
    """Send again each time the face pool is busy, after the wait it asks for (plus jitter), within `patience` s."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return send()
        except Busy as busy:
            # Jitter spreads the kiosks that were turned away together, so they do not return together.
            wait = busy.retry_after * random.uniform(1.0, 1.5)
            if time.monotonic() + wait > deadline:
                raise
            log.info("face pool busy: sending again in %.0f s", wait)
            on_wait(wait)
            sleep(wait)
