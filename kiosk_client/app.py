"""The kiosk's flow: welcome, ID, camera guidance, liveness burst, exam, result or a polite refusal."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from kiosk_client import texts
from kiosk_client.api import Busy, KioskApi, Refusal, ServerUnreachable, patiently
from kiosk_client.burst import Filming
from kiosk_client.camera import CameraError
from kiosk_client.delivery import Deliverer
from kiosk_client.exam import ExamSession
from kiosk_client.guidance import Guidance
from kiosk_client.idreader import IdCard, IdCardReader, KeyboardReader, valid_citizen_id
from kiosk_client.journal import Entry, Journal
from kiosk_client.replies import handle_reply
from kiosk_client.texts import CONSENT_NOTICE_VERSION, RETRYABLE, Phrase, refusal_view
from kiosk_client.voice import Voice
from kiosk_client.watch import ClockWatch

log = logging.getLogger(__name__)
# The "ready" button works while a good frame was seen this recently.
READY_WINDOW = 2.5
COUNTDOWN = 3
BANNER_SECONDS = 10.0
# The capture light stays on at least this long, so a worker glancing up sees it; the notice follows it.
CAPTURE_LIGHT_SECONDS = 2.0
NOTICE_SECONDS = 8.0
DEFAULT_PREFS = {"large": False, "muted": False}
# The optional practice sign-in PIN, offered on the result screen: after the exam, never on its time.
PIN_SCREENS = ("pin_offer", "pin_entry", "pin_saving", "pin_done", "pin_failed")
PIN_LENGTH = 6


class KioskApp:
    """Hold the current screen and move between screens on the worker's actions and the server's answers."""

    def __init__(
        self,
        api: KioskApi,
        filming: Filming,
        journal: Journal,
        readers: list[IdCardReader],
        countdown: int = COUNTDOWN,
        voice: Voice | None = None,
    ) -> None:
        self.api = api
        self.filming = filming
        self.journal = journal
        self.keypad = next((r for r in readers if isinstance(r, KeyboardReader)), None) or KeyboardReader()
        self.readers = [self.keypad, *(r for r in readers if r is not self.keypad)]
        self.countdown = countdown
        self.lock = threading.RLock()
        self.screen, self.version = "welcome", 0
        self.data: dict = {}
        self.guidance: Guidance | None = None
        self.last_ok = 0.0
        self.checkin: dict | None = None
        self.exam: ExamSession | None = None
        self.banner: tuple[str, float] | None = None
        self.voice = voice
        # The visit's choices: a larger-text, high-contrast screen and silence; the next worker starts afresh.
        self.prefs = dict(DEFAULT_PREFS)
        self.consent: dict | None = None  # what the worker accepted this visit, sent with the check-in
        self.pending_card: IdCard | None = None  # a card presented before the consent was given
        # The sitting just submitted whose result offers the PIN (its id and worker), and the PIN typed the first
        # time: held here only, never in the screen's state.
        self.pin_visit: dict | None = None
        self._pin_first: str | None = None
        # The one-time sign-in address shown as a QR code on the PIN offer: served as the QR image only, never
        # put in the screen's state nor logged.
        self.sign_in_url: str | None = None
        self.capture_light_until = 0.0
        self.capturing = False
        self.notice_until = 0.0
        self.deliverer = Deliverer(journal, api, self.on_reply)
        self.watch = ClockWatch(self)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._read_cards, name="id-reader", daemon=True),
            threading.Thread(target=self._guide, name="guidance", daemon=True),
        ]

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> KioskApp:
        """Resume a sitting left in the journal and start the background threads."""
        self.exam = ExamSession.resume(self.journal)
        if self.exam is not None:
            log.info("resuming sitting %s from the journal", self.exam.id)
            self.show("submitting" if self.exam.state["submitting"] else "exam")
        self.deliverer.start()
        self.watch.start()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop the background threads."""
        self._stop.set()
        self.watch.stop()
        self.deliverer.stop()

    def stopped(self) -> bool:
        """Tell whether the kiosk is stopping."""
        return self._stop.is_set()

    # -- screens ------------------------------------------------------------------------------
    def show(self, screen: str, **data) -> None:
        """Switch to a screen with its data."""
        with self.lock:
            if screen != self.screen:
                log.info("screen: %s -> %s %s", self.screen, screen, data.get("code", ""))
            if screen not in ("exam", "review"):
                # The exam's warning and capture notice are over once the exam is: none covers a later screen.
                self.banner, self.notice_until = None, 0.0
            self.screen, self.data = screen, data
            self.version += 1

    def touch(self) -> None:
        """Tell the browser to redraw the current screen."""
        with self.lock:
            self.version += 1

    def refuse(self, code: str, message: str = "", **extra) -> None:
        """Show the refusal screen for a code."""
        self.show("refusal", **refusal_view(code, message), **extra)

    def say(self, text: str) -> None:
        """Show a short message over the exam without stopping it."""
        with self.lock:
            self.banner = (text, time.monotonic() + BANNER_SECONDS)
            self.version += 1

    def online(self) -> bool:
        """Tell whether the last requests reached the server."""
        return self.deliverer.online and self.watch.online

    def capture_started(self) -> None:
        """Light the capture indicator: a frame for the server's face re-check is being taken."""
        with self.lock:
            self.capturing = True
            self.capture_light_until = time.monotonic() + CAPTURE_LIGHT_SECONDS
            self.version += 1

    def capture_taken(self) -> None:
        """Put out the indicator and tell the worker, briefly, that a photo was taken."""
        with self.lock:
            self.capturing = False
            self.notice_until = time.monotonic() + NOTICE_SECONDS
            self.version += 1

    def snapshot(self) -> dict:
        """Return everything the browser needs to draw the current screen, with its sentences and what to say."""
        with self.lock:
            now = time.monotonic()
            banner = self._banner(now)
            view = {
                "screen": self.screen,
                "version": self.version,
                **self.data,
                "online": self.online(),
                "banner": banner,
                "prefs": dict(self.prefs),
                # The light says a frame is being taken for the exam: it has nothing to say after the exam.
                "capturing": self.screen in ("exam", "review") and (self.capturing or now < self.capture_light_until),
                "voice": {"enabled": self.voice is not None and self.voice.enabled, "volume": self._volume()},
            }
            if self.screen == "welcome":
                # 练习题目 opens the server's worker pages in this browser, in kiosk mode (docs/kiosk.md).
                view["practice_url"] = self.api.base.removesuffix("/api/v1") + "/worker/kiosk"
            if self.guidance is not None:
                view["guidance"] = self.guidance.to_dict()
                view["ready"] = now - self.last_ok < READY_WINDOW
            if self.exam is not None:
                view["sitting"] = self.exam.view()
            found = self._lines(banner, now)
            view["lines"] = {role: phrase.to_dict() for role, phrase in found.items()}
            view["say"] = texts.spoken_roles(self.screen, found) + [r for r in ("banner", "notice") if r in found]
            return view

    def _banner(self, now: float) -> str | None:
        """Return the in-exam warning while it lasts, drawn over the question screen only."""
        if self.screen != "exam" or self.banner is None or self.banner[1] <= now:
            return None
        return self.banner[0]

    def _volume(self) -> int:
        return self.voice.volume if self.voice is not None else 0

    def _lines(self, banner: str | None, now: float) -> dict[str, Phrase]:
        """Return the current screen's sentences, letting the voice say each of them."""
        data = {**self.data, "online": self.online()}
        found = texts.lines(self.screen, data)
        if self.screen in ("exam", "review") and self.exam is not None:
            left = sum(1 for q in self.exam.questions if not self.exam.answers.get(q["item_no"]))
            found["confirm_left"] = texts.phrase("confirm.left", count=left)
        if self.screen == "guidance" and self.guidance is not None:
            found["hint"] = texts.phrase(f"hint.{self.guidance.code}")
        if banner:
            found["banner"] = texts.spoken(banner)
        # Over the question screen only: on the answer card it would hide the legend and the instruction.
        if now < self.notice_until and self.screen == "exam":
            found["notice"] = texts.phrase("capture.notice")
        if self.voice is not None:
            for phrase in found.values():
                self.voice.remember(phrase)
        return found

    def read_question(self, item_no: int) -> Phrase:
        """Return the question read aloud (the 读题 button), known to the voice."""
        if self.exam is None:
            raise ValueError("no exam on screen")
        question = next((q for q in self.exam.questions if q["item_no"] == item_no), None)
        if question is None:
            raise ValueError(f"no item {item_no} on this paper")
        phrase = texts.question_phrase(question)
        if self.voice is not None:
            self.voice.remember(phrase)
        return phrase

    # -- actions from the screen --------------------------------------------------------------
    def act(self, name: str, args: dict) -> None:
        """Carry out a button press; raise ValueError for one the current screen does not offer."""
        handler: Callable[[dict], None] | None = getattr(self, f"_on_{name}", None)
        if handler is None:
            raise ValueError(f"unknown action {name!r}")
        with self.lock:
            handler(args)

    def _on_start(self, _args: dict) -> None:
        if self.screen == "welcome":
            self.show("consent_loading")
            threading.Thread(target=self._ask_consent, name="consent", daemon=True).start()

    def _on_home(self, _args: dict) -> None:
        if self.screen in ("consent", "id_entry", "guidance", "retry", "refusal", "result", *PIN_SCREENS):
            self.checkin = None
            self.consent, self.pending_card = None, None
            self.prefs = dict(DEFAULT_PREFS)
            # The PIN's 不用了 and 完成 end the visit like the result's 完成: nothing of it stays for the next worker.
            self.pin_visit, self._pin_first, self.sign_in_url = None, None, None
            if self.screen in ("result", *PIN_SCREENS) and self.exam is not None:
                self.exam.finish()
                self.exam = None
            self.show("welcome")

    def _on_large_text(self, _args: dict) -> None:
        self.prefs["large"] = not self.prefs["large"]
        self.touch()

    def _on_mute(self, _args: dict) -> None:
        self.prefs["muted"] = not self.prefs["muted"]
        self.touch()

    def _on_consent(self, args: dict) -> None:
        if self.screen != "consent":
            raise ValueError("not on the consent screen")
        if args.get("accepted") is not True:
            log.info("consent declined: the visit ends")
            self.consent, self.pending_card = None, None
            self.refuse("consent_declined")
            return
        self.consent = {"notice_version": CONSENT_NOTICE_VERSION, "retention_days": int(self.data["retention_days"])}
        card, self.pending_card = self.pending_card, None
        if card is None:
            self.show("id_entry")
        else:
            self.show("checking_in")
            threading.Thread(target=self._check_in, args=(card,), name="checkin", daemon=True).start()

    def _on_citizen_id(self, args: dict) -> None:
        value = str(args.get("citizen_id", "")).strip().upper()
        if self.screen != "id_entry":
            raise ValueError("not on the ID screen")
        if not valid_citizen_id(value):
            self.show("id_entry", error=texts.PHRASES["id.error"])
            return
        self.keypad.type_in(value)

    def _current_checkin(self) -> dict:
        """Return the check-in under way; the screens that ask for it exist only during one."""
        if self.checkin is None:
            raise ValueError("no check-in under way")
        return self.checkin

    def _on_ready(self, _args: dict) -> None:
        if self.screen != "guidance" or time.monotonic() - self.last_ok >= READY_WINDOW:
            raise ValueError("the face is not ready yet")
        checkin = self._current_checkin()
        self.show(
            "challenge",
            phase="countdown",
            count=self.countdown,
            challenge=checkin["challenge"],
            worker=checkin["worker"],
        )
        threading.Thread(target=self._film, name="burst", daemon=True).start()

    def _on_retry(self, _args: dict) -> None:
        if self.screen == "retry" and self.checkin is not None:
            self.show(
                "guidance",
                worker=self.checkin["worker"],
                exam=self.checkin["exam"],
                challenge=self.checkin["challenge"],
            )

    def _on_goto(self, args: dict) -> None:
        if self.exam is None or self.screen not in ("exam", "review"):
            raise ValueError("no exam on screen")
        self.exam.go(int(args["index"]))
        self.show("exam")

    def _on_review(self, _args: dict) -> None:
        if self.exam is not None and self.screen == "exam":
            self.show("review")

    def _on_answer(self, args: dict) -> None:
        if self.exam is None or self.screen != "exam":
            raise ValueError("no exam on screen")
        self.exam.answer(int(args["item_no"]), str(args.get("response", "")))
        self.deliverer.wake()
        self.touch()

    def _on_pin_offer(self, _args: dict) -> None:
        if self.screen != "result" or self.pin_visit is None:
            raise ValueError("no PIN offered")
        self.sign_in_url = None
        self.show("pin_offer", worker=self.pin_visit["worker"])
        threading.Thread(target=self._fetch_sign_in_code, args=(self.pin_visit,), daemon=True).start()

    def _on_pin_start(self, _args: dict) -> None:
        if self.screen != "pin_offer" or self.pin_visit is None:
            raise ValueError("no PIN offered")
        self._pin_first = None
        self.show("pin_entry", phase="first", worker=self.pin_visit["worker"])

    def _on_pin(self, args: dict) -> None:
        if self.screen != "pin_entry" or self.pin_visit is None:
            raise ValueError("not on the PIN screen")
        pin, worker = str(args.get("pin", "")), self.pin_visit["worker"]
        if len(pin) != PIN_LENGTH or not pin.isascii() or not pin.isdigit():
            self.show("pin_entry", phase=self.data["phase"], worker=worker, error="short")
        elif self.data["phase"] == "first":
            self._pin_first = pin
            self.show("pin_entry", phase="again", worker=worker)
        elif pin != self._pin_first:
            self._pin_first = None
            self.show("pin_entry", phase="first", worker=worker, error="mismatch")
        else:
            self._pin_first = None
            self.show("pin_saving", worker=worker)
            threading.Thread(target=self._save_pin, args=(dict(self.pin_visit), pin), name="pin", daemon=True).start()

    def _on_submit(self, _args: dict) -> None:
        if self.exam is None or self.screen not in ("exam", "review"):
            raise ValueError("no exam on screen")
        self.exam.submit()
        self.show("submitting")
        self.deliverer.wake()

    # -- check-in -----------------------------------------------------------------------------
    def _read_cards(self) -> None:
        while not self._stop.wait(0.3):
            if self.screen not in ("welcome", "id_entry"):
                continue
            for reader in self.readers:
                card = reader.poll()
                if card is not None:
                    log.info("ID card from %s reader: %s****%s", reader.name, card.citizen_id[:6], card.citizen_id[-2:])
                    if self.screen == "welcome" or self.consent is None:
                        # Nothing is filmed, nor the chip photo sent, before the worker's consent.
                        self.pending_card = card
                        self.show("consent_loading")
                        self._ask_consent()
                    else:
                        self._check_in(card)
                    break

    def _ask_consent(self) -> None:
        """Read the server's retention and show the consent notice."""
        try:
            notice = self.api.consent_notice()
        except Refusal as refusal:
            self.refuse(refusal.code, refusal.message)
            return
        except ServerUnreachable as exc:
            log.warning("consent notice: %s", exc)
            self.refuse("server_unreachable")
            return
        with self.lock:
            if self.screen == "consent_loading":
                self.show("consent", retention_days=int(notice["retention_days"]))

    def _check_in(self, card: IdCard) -> None:
        self.show("checking_in")
        try:
            body = self.api.checkin(card.citizen_id, card.chip_photo, self.consent)
        except Refusal as refusal:
            if refusal.code == "consent_outdated" and refusal.body.get("retention_days") is not None:
                # The retention changed since the notice was read: tell the new one and ask again.
                with self.lock:
                    self.consent, self.pending_card = None, card
                    self.show("consent", retention_days=int(refusal.body["retention_days"]))
                return
            self.refuse(refusal.code, refusal.message)
            return
        except ServerUnreachable as exc:
            log.warning("check-in failed: %s", exc)
            self.refuse("server_unreachable")
            return
        with self.lock:
            self.checkin = body
            self.last_ok = 0.0
            self.show("guidance", worker=body["worker"], exam=body["exam"], challenge=body["challenge"])

    def _set_guidance(self, verdict: Guidance) -> None:
        with self.lock:
            self.guidance = verdict
            if verdict.ok:
                self.last_ok = time.monotonic()

    def _guide(self) -> None:
        number = 0
        while not self._stop.is_set():
            if self.screen != "guidance":
                self._stop.wait(0.2)
                continue
            try:
                number, frame = self.filming.camera.next_frame(number)
            except CameraError:
                self._set_guidance(Guidance("no_camera"))
                self._stop.wait(1.0)
                continue
            self._set_guidance(self.filming.judge(frame))

    def _film(self) -> None:
        checkin = self._current_checkin()
        challenge, worker = checkin["challenge"], checkin["worker"]
        try:
            for left in range(self.countdown, 0, -1):
                self.show("challenge", phase="countdown", count=left, challenge=challenge, worker=worker)
                time.sleep(1.0)
            self.show("challenge", phase="recording", challenge=challenge, worker=worker)
            frames = self.filming.burst(int(challenge["frames"]), float(challenge["seconds"]), self._set_guidance)
        except CameraError as exc:
            log.error("burst failed: %s", exc)
            self.refuse("camera_failed")
            return
        self.show("verifying", worker=worker)
        checkin_id, token = checkin["checkin_id"], checkin["checkin_token"]
        try:
            body = patiently(
                lambda: self.api.send_burst(checkin_id, token, frames),
                lambda wait: self.show("verifying", worker=worker, queued=round(wait)),
            )
        except Busy as busy:
            log.warning("burst upload: face pool still busy: %s", busy)
            self.show("retry", **refusal_view("face_busy", busy.message), attempts_left=None)
            return
        except ServerUnreachable as exc:
            log.warning("burst upload failed: %s", exc)
            self.show("retry", **refusal_view("server_unreachable"), attempts_left=None)
            return
        except Refusal as refusal:
            self._burst_refused(refusal)
            return
        self.begin_exam(body["sitting"])

    def _burst_refused(self, refusal: Refusal) -> None:
        log.info("burst refused: %s (reason %s)", refusal, refusal.body.get("reason"))
        if refusal.code in RETRYABLE and refusal.body.get("challenge"):
            with self.lock:
                self._current_checkin()["challenge"] = refusal.body["challenge"]
                self.show(
                    "retry",
                    **refusal_view(refusal.code, refusal.message),
                    attempts_left=refusal.body.get("attempts_left"),
                )
            return
        self.refuse(refusal.code, refusal.message)

    # -- the exam -----------------------------------------------------------------------------
    def begin_exam(self, sitting: dict) -> None:
        """Follow the sitting the server opened and show its first question."""
        if sitting.get("result"):
            # Its time ran out while the worker came back: the result, and the PIN if the server offers it here.
            self.show_result(sitting["result"], sitting["id"], (self.checkin or {}).get("worker"))
            return
        with self.lock:
            checkin = self._current_checkin()
            self.exam = ExamSession.open(self.journal, sitting, checkin["worker"], checkin["exam"])
            self.checkin = None
            self.show("exam")
        self.watch.poke()

    def _save_pin(self, visit: dict, pin: str) -> None:
        """Send the PIN; say how to sign in, or why it was not set (the worker may type another or leave)."""
        worker = visit["worker"]
        try:
            body = self.api.set_pin(visit["sitting_id"], pin)
        except Refusal as refusal:
            log.info("PIN refused: %s", refusal)
            view: tuple[str, dict] = (
                ("pin_entry", {"phase": "first", "error": "server", "message": refusal.message})
                if refusal.code == "invalid_pin"
                else ("pin_failed", {"code": refusal.code, "message": refusal.message})
            )
        except ServerUnreachable as exc:
            log.warning("PIN not set: %s", exc)
            view = ("pin_failed", {"code": "server_unreachable", "message": ""})
        else:
            base = self.api.base.removesuffix("/api/v1")
            address = body.get("sign_in_url") or base + body.get("sign_in_path", "/worker/login")
            view = ("pin_done", {"sign_in_url": address})
        with self.lock:
            # The worker may have left meanwhile: the answer is then only logged.
            if self.screen == "pin_saving":
                self.show(view[0], worker=worker, **view[1])

    def _fetch_sign_in_code(self, visit: dict) -> None:
        """Ask for the one-time sign-in address and add its QR code to the offer; without it the offer stands."""
        try:
            body = self.api.sign_in_code(visit["sitting_id"])
        except (Refusal, ServerUnreachable) as exc:
            log.info("no one-time sign-in code: %s", exc)
            return
        with self.lock:
            if self.screen == "pin_offer" and self.pin_visit is visit:
                log.info("one-time sign-in code shown (valid until %s)", body.get("expires_at"))
                self.sign_in_url = body["sign_in_url"]
                self.show("pin_offer", worker=visit["worker"], code_qr=True)

    def show_result(self, result: dict, sitting_id: int | None = None, worker: dict | None = None) -> None:
        """Show the graded result and forget the sitting; offer the practice PIN when the server would take it."""
        with self.lock:
            if self.exam is not None:
                self.exam.finish()
                sitting_id, worker = self.exam.id, self.exam.state.get("worker")
            if self.screen in PIN_SCREENS and self.pin_visit is not None and self.pin_visit["sitting_id"] == sitting_id:
                # A late answer about the sitting whose result was shown (a copy of the submit's reply, a message
                # refused as closed after it) must not take the worker back out of the PIN screens.
                return
            # After the exam, never on its time: the server says until when this kiosk may set it (pin_until).
            offered = bool(result.get("pin_until")) and sitting_id is not None
            self.pin_visit = {"sitting_id": sitting_id, "worker": worker or {}} if offered else None
            self._pin_first, self.sign_in_url = None, None
            self.show("result", result=result, pin_offer=offered)

    def on_reply(self, entry: Entry, body: dict | None, refusal: Refusal | None) -> None:
        """Act on the server's answer to a message from the journal (called by the delivery thread)."""
        handle_reply(self, entry, body, refusal)
