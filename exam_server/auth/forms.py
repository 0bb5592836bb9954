"""Forms for logging in and changing a password."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=256)])


class PasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired()])
    new = PasswordField("新密码", validators=[DataRequired(), Length(min=10, max=256)])
    confirm = PasswordField("确认新密码", validators=[DataRequired(), EqualTo("new", message="两次输入不一致")])
