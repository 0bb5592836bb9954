"""Request and response bodies of the kiosk API; the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_STRICT = ConfigDict(extra="forbid")


class CheckinRequest(BaseModel):
    model_config = _STRICT
    citizen_id: str = Field(min_length=1, max_length=32, description="18-digit resident citizen ID")
    chip_photo: str | None = Field(
        None, max_length=200_000, description="base64 JPEG read from the ID card's chip (optional)"
    )


class AnswerRequest(BaseModel):
    model_config = _STRICT
    response: str = Field(
        max_length=6, pattern="^[A-Fa-f]*$", description='presented option letters, e.g. "BD"; "" clears the answer'
    )
    idempotency_key: str = Field(min_length=1, max_length=64)


class SubmitRequest(BaseModel):
    model_config = _STRICT
    idempotency_key: str = Field(min_length=1, max_length=64)


class KioskRef(BaseModel):
    id: int
    name: str


class Ping(BaseModel):
    kiosk: KioskRef
    server_time: datetime


class WorkerRef(BaseModel):
    name_masked: str
    enterprise: str


class ExamRef(BaseModel):
    plan_id: int
    name: str
    duration_minutes: int
    question_count: int
    attempts_left: int
    resuming: bool


class Challenge(BaseModel):
    kind: Literal["turn_left", "turn_right", "blink"]
    prompt: str
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


class CertificateRef(BaseModel):
    number: str
    issued_on: date = Field(description="the bureau's calendar day of the pass (Asia/Shanghai by default)")
    valid_until: date
    verify_url: str


class Result(BaseModel):
    status: Literal["submitted"]
    score: float
    max_score: float
    pass_mark: float
    passed: bool
    certificate: CertificateRef | None
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
