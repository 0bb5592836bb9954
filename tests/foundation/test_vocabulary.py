"""One word for each thing: enums carry their labels, the question bank's job categories are the server's."""

import pytest

from exam_server.face.errors import IMAGE_CODES, MESSAGES_ZH
from exam_server.models import (
    JOB_CATEGORY_LABELS,
    CertificateState,
    CheckKind,
    Decision,
    JobCategory,
    RequirementStatus,
    ReviewKind,
    ReviewStatus,
    SittingStatus,
)
from question_bank.model import JOB_CATEGORIES

LABELLED = (
    CertificateState,
    CheckKind,
    Decision,
    JobCategory,
    RequirementStatus,
    ReviewKind,
    ReviewStatus,
    SittingStatus,
)


@pytest.mark.parametrize("enum_cls", LABELLED, ids=lambda e: e.__name__)
def test_every_member_has_its_own_label(enum_cls):
    labels = [member.label for member in enum_cls]
    assert all(labels) and len(set(labels)) == len(labels)


def test_question_bank_job_categories_are_the_workers_job_categories():
    assert {job.value: job.label for job in JobCategory} == JOB_CATEGORIES
    assert {job: job.label for job in JobCategory} == JOB_CATEGORY_LABELS


def test_a_refused_check_is_not_called_a_missing_face():
    # A refusal may be several faces, blur or darkness: the label must not name one reason.
    assert Decision.REFUSED.label == "未能比对"


def test_image_codes_have_a_kiosk_message_and_a_422():
    from exam_server.api.errors import CODES

    assert set(IMAGE_CODES) <= set(MESSAGES_ZH)
    assert all(CODES[code][0] == 422 for code in IMAGE_CODES)
