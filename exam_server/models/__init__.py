"""All models, imported here so that metadata and Alembic see every table."""

from exam_server.models.accounts import ROLE_LABELS, AuditLog, Role, User
from exam_server.models.base import Base, DomainError, utcnow
from exam_server.models.devices import Kiosk
from exam_server.models.exams import (
    ACTIVE_SITTING_STATUSES,
    Answer,
    AnswerReceipt,
    ExamPlan,
    ExamRequirement,
    RequirementStatus,
    Sitting,
    SittingStatus,
)
from exam_server.models.face import (
    CaptureRequest,
    CheckIn,
    CheckInStatus,
    CheckKind,
    Decision,
    FaceCheck,
    FaceConsent,
    ReviewCase,
    ReviewKind,
    ReviewStatus,
)
from exam_server.models.org import County, Enterprise, Industry, Township
from exam_server.models.people import (
    JOB_CATEGORY_LABELS,
    Certificate,
    FacePhoto,
    FaceTemplate,
    JobCategory,
    PhotoSource,
    Worker,
)
from exam_server.models.questions import Question

__all__ = [
    "ACTIVE_SITTING_STATUSES",
    "Answer",
    "AnswerReceipt",
    "AuditLog",
    "Base",
    "CaptureRequest",
    "Certificate",
    "CheckIn",
    "CheckInStatus",
    "CheckKind",
    "County",
    "Decision",
    "DomainError",
    "Enterprise",
    "ExamPlan",
    "ExamRequirement",
    "FaceCheck",
    "FaceConsent",
    "FacePhoto",
    "FaceTemplate",
    "Industry",
    "JOB_CATEGORY_LABELS",
    "JobCategory",
    "Kiosk",
    "PhotoSource",
    "Question",
    "ROLE_LABELS",
    "RequirementStatus",
    "ReviewCase",
    "ReviewKind",
    "ReviewStatus",
    "Role",
    "Sitting",
    "SittingStatus",
    "Township",
    "User",
    "Worker",
    "utcnow",
]
