"""The question bank as the city administrator manages it: filter, edit, retire, import, export, quality."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Select, select

import question_bank as qb
from exam_server.database import DbSession
from exam_server.models import N_, Answer, DomainError, Question, Sitting, SittingStatus, User
from exam_server.services import audit
from exam_server.services.exam import question_store

QUALITY_SITTINGS = 5000  # newest graded sittings read per page view: over a thousand answers per item


def filtered(
    *, category: str = "", qtype: str = "", difficulty: int | None = None, status: str = "", text: str = ""
) -> Select:
    """Return the questions matching the filters, by code."""
    stmt = select(Question).order_by(Question.code)
    if category:
        stmt = stmt.where(Question.category == category)
    if qtype:
        stmt = stmt.where(Question.qtype == qtype)
    if difficulty:
        stmt = stmt.where(Question.difficulty == difficulty)
    if status:
        stmt = stmt.where(Question.status == status)
    if text:
        stmt = stmt.where(Question.stem.contains(text) | (Question.code == text.strip()))
    return stmt


def categories(session: DbSession) -> list[str]:
    return list(session.scalars(select(Question.category).distinct().order_by(Question.category)))


def new_code(session: DbSession) -> str:
    """Return the code the next hand-written question gets."""
    return qb.next_code(session.scalars(select(Question.code).where(Question.code.startswith(qb.AUTHORED_PREFIX))))


def _codes_and_stems(session: DbSession) -> list[tuple[str, str]]:
    return [(code, stem) for code, stem in session.execute(select(Question.code, Question.stem))]


def create(session: DbSession, fields: dict, user: User) -> tuple[Question | None, list[qb.Problem]]:
    """Store a hand-written question if it is valid (version 1); return it, or the problems and nothing stored."""
    qtype = qb.QuestionType(fields["type"])
    question = qb.Question(
        **{**fields, "type": qtype, "code": new_code(session), "options": qb.authored_options(qtype, fields["options"])}
    )
    problems = qb.check_authored(question, _codes_and_stems(session))
    if problems:
        return None, problems
    question_store.save(session, [question])
    row = session.scalars(select(Question).where(Question.code == question.code)).one()
    audit.record(
        session,
        "question_created",
        target=row,
        user_id=user.id,
        detail={"code": row.code, "type": row.qtype, "category": row.category},
    )
    return row, []


def update(session: DbSession, row: Question, changes: dict, user: User) -> list[qb.Problem]:
    """Apply an edit if it is valid (new version number); return the problems otherwise."""
    current = question_store.to_question(row)
    qtype = qb.QuestionType(changes.get("type", current.type))
    if "options" in changes:
        changes = {**changes, "options": qb.authored_options(qtype, changes["options"])}
    edited = current.with_changes(**changes)
    problems = qb.check_authored(edited, _codes_and_stems(session), replacing=row.code)
    if problems or edited == current:
        return problems
    changed = sorted(name for name, value in changes.items() if getattr(current, name) != value)
    question_store.save(session, [edited.with_changes(version=current.version + 1)])
    audit.record(
        session,
        "question_updated",
        target=row,
        user_id=user.id,
        detail={"code": row.code, "version": row.version, "fields": changed},
    )
    return []


def retire(session: DbSession, row: Question, user: User) -> bool:
    """Take a question out of new papers (it stays for history); return whether it changed."""
    if row.status == qb.Status.RETIRED.value:
        return False
    row.status = qb.Status.RETIRED.value
    audit.record(session, "question_retired", target=row, user_id=user.id, detail={"code": row.code})
    return True


def check_import(session: DbSession, data: bytes, filename: str, *, accept_valid_rows: bool = False) -> qb.ImportResult:
    """Validate a question file against the bank; nothing is written."""
    suffix = Path(filename or "").suffix.lower().lstrip(".")
    if suffix not in ("xlsx", "csv", "json"):
        raise DomainError(N_("请上传 .xlsx、.csv 或 .json 文件"))
    existing = session.execute(select(Question.code, Question.stem)).all()
    try:
        return qb.import_file(
            data,
            suffix,
            existing_codes=[c for c, _ in existing],
            existing_stems=[s for _, s in existing],
            accept_valid_rows=accept_valid_rows,
            source_name=Path(filename).name,
        )
    except ValueError as exc:
        raise DomainError(N_("无法读取文件：%(error)s"), error=exc) from exc


def write_import(session: DbSession, result: qb.ImportResult, user: User, filename: str) -> int:
    """Store the questions of a checked import; refuse when it may not be written."""
    if not result.ok_to_write:
        if not result.problems:
            raise DomainError(N_("文件中没有可导入的题目"))
        raise DomainError(
            N_("共 %(rows)d 行，发现 %(problems)d 个问题（%(bad)d 行），未导入任何题目"),
            rows=result.rows,
            problems=len(result.problems),
            bad=len(result.rejected_rows),
        )
    added, _ = question_store.save(session, result.questions)
    audit.record(
        session,
        "questions_imported",
        user_id=user.id,
        detail={
            "filename": filename[:200],
            "rows": result.rows,
            "imported": added,
            "skipped_rows": len(result.rejected_rows),
        },
    )
    return added


def export(session: DbSession, stmt: Select, fmt: str) -> bytes:
    """Return the selected questions as xlsx, csv or json that the import reads back."""
    return qb.export_questions([question_store.to_question(row) for row in session.scalars(stmt)], fmt)


@dataclass
class QualityRow:
    stats: qb.ItemStats
    question: Question | None


def quality(
    session: DbSession, since: datetime | None = None, limit: int = QUALITY_SITTINGS
) -> tuple[list[QualityRow], int]:
    """Return item statistics over the newest graded sittings, worst flagged first, and the sittings used."""
    results = list(graded(session, since, limit))
    stats = qb.item_statistics(results)
    rows = {q.code: q for q in session.scalars(select(Question).where(Question.code.in_([s.code for s in stats])))}
    ordered = sorted(
        stats, key=lambda s: (-len(s.flags), s.point_biserial if s.point_biserial is not None else 9, s.code)
    )
    return [QualityRow(s, rows.get(s.code)) for s in ordered], len(results)


def graded(session: DbSession, since: datetime | None, limit: int) -> Iterator[qb.GradeResult]:
    """Re-grade submitted sittings from their stored paper and answers, 500 at a time."""
    stmt = (
        select(Sitting.id)
        .where(Sitting.status == SittingStatus.SUBMITTED)
        .order_by(Sitting.submitted_at.desc())
        .limit(limit)
    )
    if since is not None:
        stmt = stmt.where(Sitting.submitted_at >= since)
    ids = session.scalars(stmt).all()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        answers: dict[int, dict[int, str]] = {}
        for sitting_id, item_no, response in session.execute(
            select(Answer.sitting_id, Answer.item_no, Answer.response).where(Answer.sitting_id.in_(chunk))
        ):
            answers.setdefault(sitting_id, {})[item_no] = response
        for sitting_id, paper in session.execute(select(Sitting.id, Sitting.paper).where(Sitting.id.in_(chunk))):
            try:
                yield qb.grade(qb.Paper.from_dict(paper), answers.get(sitting_id, {}))
            except (ValueError, KeyError):
                continue  # a paper this library version cannot read is left out, not guessed at
