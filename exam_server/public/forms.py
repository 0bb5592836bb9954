"""The public verification form: the printed number and the holder's name."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Regexp


class VerifyForm(FlaskForm):
    number = StringField(
        "证书编号",
        validators=[
            DataRequired("请填写证书编号"),
            Length(max=40),
            Regexp(r"^\s*[Aa][Qq]\s*\d[\d\s]{12,}$", message="证书编号为AQ加14位数字，如AQ20260000000001"),
        ],
    )
    name = StringField("持证人姓名", validators=[DataRequired("请填写持证人姓名"), Length(max=64)])
