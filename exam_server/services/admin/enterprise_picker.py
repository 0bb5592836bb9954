"""Find an enterprise of the user's scope by name or credit code, for the forms' search boxes."""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select

from exam_server.database import DbSession
from exam_server.models import N_, County, DomainError, Enterprise, User
from exam_server.services import policy

SUGGESTIONS = 20
_CODE = re.compile(r"^[0-9A-Za-z]{18}$")
# A suggestion reads "name（code）"; the code in the brackets is what identifies the enterprise.
_LABELLED = re.compile(r"[（(]\s*([0-9A-Za-z]{18})\s*[）)]\s*$")


def label(enterprise: Enterprise) -> str:
    """Return the text a picked suggestion leaves in the box: name and credit code."""
    return f"{enterprise.name}（{enterprise.credit_code}）"


def _in_scope(user: User):
    stmt = select(Enterprise).join(County, County.id == Enterprise.county_id)
    return policy.enterprise_filter(user, stmt, Enterprise.id, Enterprise.county_id)


def suggest(session: DbSession, user: User, text: str, limit: int = SUGGESTIONS) -> list[dict]:
    """Return up to ``limit`` enterprises of the user's scope whose name holds the text or whose code starts with it."""
    text = (text or "").strip()[:128]
    if not text:
        return []
    stmt = (
        _in_scope(user)
        .where(
            Enterprise.active,
            or_(
                Enterprise.name.contains(text, autoescape=True),
                Enterprise.credit_code.startswith(text.upper(), autoescape=True),
            ),
        )
        .order_by(func.length(Enterprise.name), Enterprise.name, Enterprise.id)
        .limit(limit)
    )
    return [
        {"label": label(e), "name": e.name, "credit_code": e.credit_code, "county": e.county.name}
        for e in session.scalars(stmt)
    ]


def resolve(session: DbSession, user: User, text: str) -> Enterprise | None:
    """Return the enterprise the box names (a credit code, a picked suggestion or an exact name); None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    code = text if _CODE.match(text) else (m.group(1) if (m := _LABELLED.search(text)) else None)
    if code is not None:
        enterprise = session.scalar(select(Enterprise).where(Enterprise.credit_code == code.upper()))
        if enterprise is None or not policy.can_see_enterprise(user, enterprise):
            raise DomainError(
                N_("未找到统一社会信用代码为%(code)s的企业，或该企业不在您的管理范围内"), code=code.upper()
            )
        return enterprise
    named = session.scalars(_in_scope(user).where(Enterprise.name == text).limit(2)).all()
    if not named:
        raise DomainError(N_("未找到名为“%(name)s”的企业，或该企业不在您的管理范围内；请从搜索建议中选择"), name=text)
    if len(named) > 1:
        raise DomainError(N_("有多家企业名为“%(name)s”，请从搜索建议中选择或填写统一社会信用代码"), name=text)
    return named[0]
