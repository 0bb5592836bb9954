"""Request and response bodies of the kiosk API; the OpenAPI document is generated from these."""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from exam_server.plaintext import SINGLE_LINE_PATTERN, control_character

_STRICT = ConfigDict(extra="forbid")
CITIZEN_ID_PATTERN = r"^[0-9]{17}[0-9Xx]$"
# Request fields whose malformed value has its own refusal code instead of invalid_request.
REFUSAL_CODES = {"citizen_id": "invalid_citizen_id", "pin": "invalid_pin"}


def _plain(value: str) -> str:
    if found := control_character(value):
        raise ValueError(f"含有控制字符 {found} / contains the control character {found}")
    return value


# Every free-text field of a request: the document states the rule, the validator says what broke it.
PlainText = Annotated[str, AfterValidator(_plain), Field(json_schema_extra={"pattern": SINGLE_LINE_PATTERN})]
# Standard base64 with its padding, exactly what base64.b64decode(validate=True) takes.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def _base64(value: str) -> str:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("须为 base64 编码的图像 / must be base64") from None
    return value


# A picture sent in JSON: the document states the alphabet and padding, so a client (or a fuzzer) knows them.
Base64Text = Annotated[str, AfterValidator(_base64), Field(json_schema_extra={"pattern": BASE64_PATTERN})]


class ConsentGiven(BaseModel):
    model_config = _STRICT
    notice_version: PlainText = Field(
        min_length=1, max_length=32, description="which wording the kiosk showed and spoke"
    )
    retention_days: int = Field(ge=0, le=36500, description="the retention the notice told (GET /consent-notice)")


class CheckinRequest(BaseModel):
    model_config = _STRICT
    citizen_id: str = Field(
        pattern=CITIZEN_ID_PATTERN, description="18-character resident citizen ID (17 digits, then a digit or X)"
    )
    chip_photo: Base64Text | None = Field(
        None, max_length=200_000, description="base64 JPEG read from the ID card's chip (optional)"
    )
    consent: ConsentGiven | None = Field(
        None,
        description="the worker's consent to be filmed, given on the kiosk's notice before this visit's first "
        "capture; without it no frame of the check-in (burst, chip photo) is analysed",
    )


class ConsentNotice(BaseModel):
    retention_days: int = Field(description="days kiosk frames are kept (EXAM_EVIDENCE_RETENTION_DAYS)")


class AnswerRequest(BaseModel):
    model_config = _STRICT
    response: str = Field(
        max_length=6, pattern="^[A-Fa-f]*$", description='presented option letters, e.g. "BD"; "" clears the answer'
    )
    idempotency_key: PlainText = Field(min_length=1, max_length=64)


class SubmitRequest(BaseModel):
    model_config = _STRICT
    idempotency_key: PlainText = Field(min_length=1, max_length=64)


class KioskRef(BaseModel):
    id: int
    name: str


class Ping(BaseModel):
    kiosk: KioskRef
    server_time: datetime


# A check-in answers anyone holding a kiosk token who types a citizen ID, so it carries only what the kiosk's
# greeting shows (kiosk_client/texts.py, web/static/app.js): no enterprise, plan id or attempt count.
class WorkerRef(BaseModel):
    name_masked: str


class ExamRef(BaseModel):
    name: str
    duration_minutes: int
    question_count: int
    resuming: bool = Field(description="the worker's open sitting is resumed (the greeting says so)")


class ChallengeStep(BaseModel):
    kind: Literal["turn_left", "turn_right", "blink", "open_mouth"]
    instruction: str


class Challenge(BaseModel):
    kind: str = Field(description='one move, or the moves in order joined by "+" (turn_left+blink+open_mouth)')
    prompt: str = Field(description="the whole instruction in Chinese")
    steps: list[ChallengeStep] = Field(description="the moves in the order the worker must make them")
    frames: int
    seconds: float


class CheckinCreated(BaseModel):
    checkin_id: int
    checkin_token: str
    worker: WorkerRef
    exam: ExamRef
    challenge: Challenge
    expires_at: datetime


class Option(BaseModel):
    letter: str
    text: str


class PaperQuestion(BaseModel):
    item_no: int
    type: Literal["single", "multiple", "truefalse"]
    stem: str
    options: list[Option]
    points: float
    image: bool = Field(
        default=False, description="the question shows a picture: GET /sittings/{id}/items/{item_no}/image"
    )


class CertificateRef(BaseModel):
    number: str
    issued_on: date = Field(description="the bureau's calendar day of the pass (Asia/Shanghai by default)")
    valid_until: date
    verify_url: str


class ReviewItem(BaseModel):
    item_no: int
    type: Literal["single", "multiple", "truefalse"]
    category: str
    stem: str
    options: list[Option]
    response: str = Field(description='the worker\'s presented letters ("" when unanswered)')
    answer: str = Field(description="the right presented letters")
    basis: str = Field(description="the regulation or standard the answer rests on")
    explanation: str


class CategoryScore(BaseModel):
    category: str
    correct: int
    total: int
    score: float
    max_score: float


class Retake(BaseModel):
    attempts_left: int
    opens_at: datetime | None = Field(description="from when a new check-in opens the next attempt; null: none")
    closes_at: datetime = Field(description="the plan's end: the last moment to sit again")
    closes_local: str = Field(description="closes_at on the bureau's wall clock, YYYY-MM-DD HH:MM")


class Result(BaseModel):
    status: Literal["submitted"]
    score: float
    max_score: float
    pass_mark: float
    passed: bool
    certificate: CertificateRef | None
    review: list[ReviewItem] | None = Field(
        description="each item not answered right, when the plan shows answers after grading; else null"
    )
    categories: list[CategoryScore] = Field(description="score by question category, the weakest first")
    retake: Retake | None = Field(description="a failed sitting: attempts left and when the next one opens")
    pin_until: datetime | None = Field(
        description="until when this kiosk may set the worker's practice PIN and get a one-time sign-in code "
        "(POST .../pin, .../sign-in-code); null: it may not"
    )
    server_time: datetime
    remaining_seconds: int


SittingStatusName = Literal["in_progress", "suspended", "submitted", "voided"]


class SittingView(BaseModel):
    id: int
    status: SittingStatusName
    deadline_at: datetime
    server_time: datetime
    remaining_seconds: int
    questions: list[PaperQuestion]
    answers: dict[str, str]
    result: Result | None


class FramesPassed(BaseModel):
    result: Literal["passed"]
    sitting: SittingView


class AnswerSaved(BaseModel):
    item_no: int
    response: str
    revision: int
    saved_at: datetime
    server_time: datetime
    remaining_seconds: int


class CaptureDue(BaseModel):
    nonce: str
    due_at: datetime
    expires_at: datetime


class Clock(BaseModel):
    status: SittingStatusName
    remaining_seconds: int
    deadline_at: datetime
    server_time: datetime
    capture: CaptureDue | None


class CaptureResult(BaseModel):
    decision: Literal["match", "retry", "warning", "suspended"]
    message: str
    status: SittingStatusName
    server_time: datetime
    remaining_seconds: int


class Error(BaseModel):
    model_config = ConfigDict(extra="allow")
    error: str
    message: str
    field: str | None = Field(None, description="the request field at fault (invalid_request)")
    attempts_left: int | None = Field(None, description="check-ins: failed face checks still allowed")
    challenge: Challenge | None = Field(None, description="check-ins: the new challenge to film")
    reason: str | None = Field(None, description="the face engine's precise reason")


class PinRequest(BaseModel):
    model_config = _STRICT
    pin: PlainText = Field(min_length=1, max_length=32, description="the PIN the worker typed: 6 digits")


class PinSet(BaseModel):
    pin_set: bool
    worker: WorkerRef
    sign_in_path: str
    sign_in_url: str


class SignInCode(BaseModel):
    worker: WorkerRef
    sign_in_url: str = Field(description="the one-time sign-in address to show as a QR code; used once")
    expires_at: datetime
