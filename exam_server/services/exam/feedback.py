"""What a graded sitting teaches the worker: wrong answers with the right ones, weakest categories, the next try."""

from __future__ import annotations

from datetime import datetime

import question_bank as qb
from exam_server import localday
from exam_server.database import DbSession
from exam_server.models import ExamRequirement, RequirementStatus, Sitting
from exam_server.services.exam import sittings

LETTERS = "ABCDEF"


def _graded(session: DbSession, sitting: Sitting) -> tuple[qb.Paper, qb.GradeResult]:
    paper = qb.Paper.from_dict(sitting.paper)
    return paper, qb.grade(paper, sittings.answers_of(session, sitting.id))


def feedback(session: DbSession, sitting: Sitting, now: datetime) -> dict:
    """Return the review (when the plan allows it), the score by category, and when the worker may sit again."""
    paper, graded = _graded(session, sitting)
    return {
        "review": wrong_answers(paper, graded) if sitting.plan.review_answers else None,
        "categories": categories(paper, graded),
        "retake": None if sitting.passed else retake(session, sitting, now),
    }


def wrong_answers(paper: qb.Paper, graded: qb.GradeResult) -> list[dict]:
    """Return each item not answered right, as presented, with the worker's and the right letters and the basis."""
    wrong = []
    for item, grade in zip(paper.items, graded.items, strict=True):
        if grade.correct:
            continue
        wrong.append(
            {
                "item_no": item.number,
                "type": item.type.value,
                "category": item.category,
                "stem": item.stem,
                "options": [{"letter": LETTERS[i], "text": text} for i, text in enumerate(item.options)],
                "response": grade.response,
                "answer": item.answer,
                "basis": item.basis,
                "explanation": item.explanation,
            }
        )
    return wrong


def categories(paper: qb.Paper, graded: qb.GradeResult) -> list[dict]:
    """Return points and right answers per category, the weakest (lowest share of its points) first."""
    totals: dict[str, dict] = {}
    for item, grade in zip(paper.items, graded.items, strict=True):
        row = totals.setdefault(
            item.category or "其他", {"category": item.category or "其他", "correct": 0, "total": 0, "score": 0.0}
        )
        row["total"] += 1
        row["correct"] += int(grade.correct)
        row["score"] += grade.points_awarded
        row["max_score"] = row.get("max_score", 0.0) + grade.points_possible
    rows = [
        {**row, "score": round(row["score"], 2), "max_score": round(row["max_score"], 2)} for row in totals.values()
    ]
    return sorted(rows, key=lambda r: (r["score"] / r["max_score"] if r["max_score"] else 1.0, r["category"]))


def retake(session: DbSession, sitting: Sitting, now: datetime) -> dict:
    """Return whether and until when the worker may sit this plan again (a new check-in opens the next attempt)."""
    requirement = session.get_one(ExamRequirement, sitting.requirement_id)
    plan = sitting.plan
    left = max(0, plan.max_attempts - requirement.attempts)
    open_now = left > 0 and requirement.status is not RequirementStatus.PASSED and now < plan.closes_at
    return {
        "attempts_left": left,
        # No waiting rule between attempts yet: the next one opens with this sitting's submission.
        "opens_at": max(sitting.submitted_at or now, plan.opens_at) if open_now else None,
        "closes_at": plan.closes_at,
        "closes_local": localday.format_local(plan.closes_at),
    }
