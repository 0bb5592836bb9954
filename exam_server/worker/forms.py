"""The worker's forms: sign-in, a bare action, and a practice answer's fields (every POST carries the CSRF token)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    citizen_id = StringField("身份证号", validators=[DataRequired("请填写身份证号"), Length(max=18)])
    pin = PasswordField("登录密码（6位数字）", validators=[DataRequired("请填写登录密码"), Length(max=32)])


class ActionForm(FlaskForm):
    """A POST that carries only the CSRF token (sign out, start or hand in a mock exam): no other site can send it."""


@dataclass(frozen=True)
class AnswerFields:
    """The question's code, the seed of its option order, the practice mode and the answer's idempotency key."""

    code: str
    seed: int
    mode: str
    key: str


# The hidden fields of a practice answer and their longest values. Read without WTForms: the answer is the busiest
# POST of the worker pages, its fields are hidden, and CSRFProtect checks its token as it does every POST's.
_ANSWER_FIELDS = {"code": 32, "seed": 12, "mode": 16, "key": 64}


def answer_fields(form: MultiDict[str, str]) -> AnswerFields | None:
    """Return a practice answer's hidden fields, or None when one is missing, blank, too long or the seed no number."""
    values = {name: form.get(name, "") for name in _ANSWER_FIELDS}
    if any(not value.strip() or len(value) > _ANSWER_FIELDS[name] for name, value in values.items()):
        return None
    if not values["seed"].isdigit():
        return None
    return AnswerFields(values["code"], int(values["seed"]), values["mode"], values["key"])
