"""Paper rule sets as the city administrator sees and edits them: by name, with a sample paper and its shortfall."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

import question_bank as qb
from exam_server.database import DbSession
from exam_server.models import N_, DomainError, PaperRuleSet, User
from exam_server.services import audit
from exam_server.services.exam import question_store


def all_rulesets(session: DbSession) -> dict[str, dict]:
    """Return the selectable rule sets by code, general ones first: question_bank's files, replaced by edited ones."""
    try:
        shipped = {rs.id: rs for rs in qb.load_rulesets().values()}
    except (OSError, ValueError):
        shipped = {}
    if not shipped:
        general = qb.RuleSet.from_dict(question_store.default_ruleset())
        shipped = {general.id: general}
    for row in session.scalars(select(PaperRuleSet)):
        try:
            shipped[row.code] = qb.RuleSet.from_dict(row.body)
        except ValueError:
            continue  # a stored set this library version cannot read: the shipped one stays in use
    ordered = sorted(shipped.values(), key=lambda rs: (rs.industry is not None, rs.job_category is not None, rs.id))
    return {rs.id: rs.to_dict() for rs in ordered}


def find(session: DbSession, code: str) -> qb.RuleSet | None:
    found = all_rulesets(session).get(code)
    return qb.RuleSet.from_dict(found) if found is not None else None


@dataclass
class Preview:
    """A sample paper drawn from the active bank, or the rules the bank cannot fill."""

    ruleset: qb.RuleSet
    shortfalls: list[str]
    paper: qb.Paper | None


def preview(session: DbSession, ruleset: qb.RuleSet, seed: int | None = None) -> Preview:
    """Draw a sample paper as a check-in would (no worker: only questions open to every industry and job)."""
    bank, _ = question_store.bank(session)
    missing = [s.split(" / ")[0] for s in qb.shortfalls(bank, ruleset)]
    if missing:
        return Preview(ruleset, missing, None)
    return Preview(ruleset, [], qb.assemble(bank, ruleset, secrets.randbelow(2**31) if seed is None else seed))


def save(session: DbSession, ruleset: qb.RuleSet, user: User) -> Preview:
    """Store an edited rule set once the bank can fill it; plans pick it up when next saved."""
    checked = preview(session, ruleset)
    if checked.shortfalls:
        raise DomainError(
            N_("题库题目不足，无法按此规则组卷：%(shortfalls)s"), shortfalls="；".join(checked.shortfalls)
        )
    row = session.scalars(select(PaperRuleSet).where(PaperRuleSet.code == ruleset.id)).first()
    if row is None:
        row = PaperRuleSet(code=ruleset.id, body={})
        session.add(row)
    row.body, row.updated_by_id = ruleset.to_dict(), user.id
    session.flush()
    audit.record(
        session,
        "ruleset_updated",
        target=row,
        user_id=user.id,
        detail={
            "code": ruleset.id,
            "name": ruleset.name,
            "version": ruleset.version,
            "questions": ruleset.question_count,
            "duration_minutes": ruleset.duration_minutes,
            "pass_mark": ruleset.pass_mark,
        },
    )
    return checked
