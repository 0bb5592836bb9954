"""The worker's forms: sign-in and an answer (both carry the CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    citizen_id = StringField("身份证号", validators=[DataRequired("请填写身份证号"), Length(max=18)])
    pin = PasswordField("登录密码（6位数字）", validators=[DataRequired("请填写登录密码"), Length(max=32)])


class AnswerForm(FlaskForm):
    """The question's code, the seed of its option order, the practice mode and the answer's idempotency key."""

    code = HiddenField(validators=[DataRequired(), Length(max=32)])
    seed = HiddenField(validators=[DataRequired(), Length(max=12)])
    mode = HiddenField(validators=[DataRequired(), Length(max=16)])
    key = HiddenField(validators=[DataRequired(), Length(max=64)])


class ActionForm(FlaskForm):
    """A POST that carries only the CSRF token (sign out, start or hand in a mock exam): no other site can send it."""
