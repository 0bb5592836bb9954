"""Console forms (Flask-WTF: every POST form carries a CSRF token; search forms use GET and none)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FloatField,
    Form,
    FormField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from exam_server.models import JOB_CATEGORY_LABELS, ROLE_LABELS
from question_bank import QuestionType, Status


def options(pairs) -> list[SelectChoice]:
    """Return select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


JOB_CHOICES = options((job.value, label) for job, label in JOB_CATEGORY_LABELS.items())
QTYPE_CHOICES = options((t.value, t.label) for t in QuestionType)
STATUS_CHOICES = options((s.value, s.label) for s in (Status.ACTIVE, Status.DRAFT, Status.RETIRED))
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]  # what datetime-local inputs send and show
CREDIT_CODE = Regexp(r"^\s*([0-9A-Za-z]{18})?\s*$", message="统一社会信用代码应为18位")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SearchForm(FlaskForm):
    """A GET form: no CSRF token, values come from the query string."""

    class Meta:
        csrf = False


class WorkerSearchForm(SearchForm):
    name = StringField("姓名", validators=[Optional(), Length(max=64)])
    citizen_id = StringField("身份证号", validators=[Optional(), Length(max=18)])
    enterprise = StringField("企业名称或信用代码", validators=[Optional(), Length(max=128)])
    county = SelectField("区县", choices=[], validate_choice=False)  # the user's counties, set by the view
    job_category = SelectField("岗位类别", choices=[SelectChoice("", "全部"), *JOB_CHOICES], validate_choice=False)
    photo = SelectField(
        "人脸照片",
        choices=options([("", "全部"), ("enrolled", "已登记"), ("missing", "未登记")]),
        validate_choice=False,
    )


class PracticeSearchForm(WorkerSearchForm):
    practised = SelectField(
        "练习情况", choices=options([("", "全部"), ("yes", "已练习"), ("no", "未练习")]), validate_choice=False
    )


class WorkerImportForm(FlaskForm):
    file = FileField(
        "人员名单（XLSX或CSV）",
        validators=[FileRequired("请选择文件"), FileAllowed(["xlsx", "csv"], "只接受 .xlsx 或 .csv 文件")],
    )
    enterprise_code = StringField("导入到企业（统一社会信用代码）", validators=[Optional(), CREDIT_CODE])


class ImportConfirmForm(FlaskForm):
    import_all = SubmitField("确认导入")
    import_valid = SubmitField("仅导入有效行")


class PhotoForm(FlaskForm):
    photo = FileField(
        "登记照片（JPEG或PNG）",
        validators=[FileRequired("请选择照片"), FileAllowed(["jpg", "jpeg", "png"], "只接受 JPEG 或 PNG 图片")],
    )


class PhotoZipForm(FlaskForm):
    archive = FileField(
        "照片压缩包（ZIP，文件名为身份证号）",
        validators=[FileRequired("请选择ZIP文件"), FileAllowed(["zip"], "只接受 .zip 文件")],
    )


class QuestionSearchForm(SearchForm):
    text = StringField("题干或编号", validators=[Optional(), Length(max=100)])
    category = SelectField("分类", choices=options([("", "全部分类")]), validate_choice=False)
    qtype = SelectField("题型", choices=options([("", "全部题型")]) + QTYPE_CHOICES)
    difficulty = SelectField("难度", choices=options([("", "全部难度")] + [(str(d), str(d)) for d in range(1, 6)]))
    status = SelectField("状态", choices=options([("", "全部状态")]) + STATUS_CHOICES)


class QuestionForm(FlaskForm):
    qtype = SelectField("题型", choices=QTYPE_CHOICES)
    stem = TextAreaField("题干", validators=[DataRequired(), Length(max=2000)])
    option_a = StringField("选项A", validators=[Length(max=500)])
    option_b = StringField("选项B", validators=[Length(max=500)])
    option_c = StringField("选项C", validators=[Length(max=500)])
    option_d = StringField("选项D", validators=[Length(max=500)])
    option_e = StringField("选项E", validators=[Length(max=500)])
    option_f = StringField("选项F", validators=[Length(max=500)])
    answer = StringField("答案（选项字母，如 B 或 ACD；判断题 A 为正确）", validators=[DataRequired(), Length(max=6)])
    explanation = TextAreaField("解析", validators=[Length(max=2000)])
    category = StringField("分类", validators=[DataRequired(), Length(max=64)])
    difficulty = IntegerField("难度（1-5）", validators=[InputRequired(), NumberRange(1, 5)])
    points = FloatField("分值（留空按试卷规则）", validators=[Optional(), NumberRange(min=0.5, max=100)])
    basis = StringField("法规依据", validators=[Length(max=255)])
    status = SelectField("状态", choices=STATUS_CHOICES)
    job_categories = MultiCheckboxField("适用岗位（不选为全部）", choices=JOB_CHOICES)
    industries = MultiCheckboxField("适用行业（不选为全部）", choices=[])
    exam_only = BooleanField("仅用于正式考试（练习和模拟考试不出此题）")


class QuestionImageForm(FlaskForm):
    image = FileField("题目图片（PNG或JPEG，不超过2 MB，短边至少64像素）", validators=[FileRequired("请选择图片")])


DIFFICULTY_BANDS = options(
    [("any", "不限"), ("1-2", "1-2（较易）"), ("3-5", "3-5（较难）"), ("1-3", "1-3"), ("4-5", "4-5")]
    + [(str(d), str(d)) for d in range(1, 6)]
)


class PaperRuleRow(Form):
    """One rule of a paper: how many questions of a type and category, in a difficulty band (no CSRF: a sub-form)."""

    category = SelectField("分类", choices=[], validate_choice=False)
    qtype = SelectField("题型", choices=QTYPE_CHOICES)
    difficulty = SelectField("难度", choices=DIFFICULTY_BANDS, validate_choice=False)
    count = IntegerField("题数", validators=[Optional(), NumberRange(0, 200)])


class PaperRulesForm(FlaskForm):
    name = StringField("试卷规则名称", validators=[DataRequired(), Length(max=64)])
    duration_minutes = IntegerField("考试时长（分钟）", validators=[InputRequired(), NumberRange(5, 240)])
    pass_mark = FloatField("及格分", validators=[InputRequired(), NumberRange(0.5, 1000)])
    points_single = FloatField("单选题每题分值", validators=[InputRequired(), NumberRange(0.5, 100)])
    points_multiple = FloatField("多选题每题分值", validators=[InputRequired(), NumberRange(0.5, 100)])
    points_truefalse = FloatField("判断题每题分值", validators=[InputRequired(), NumberRange(0.5, 100)])
    rules = FieldList(FormField(PaperRuleRow), min_entries=1, max_entries=60)


class QuestionImportForm(FlaskForm):
    file = FileField(
        "题目文件（XLSX、CSV或JSON）",
        validators=[
            FileRequired("请选择文件"),
            FileAllowed(["xlsx", "csv", "json"], "只接受 .xlsx、.csv 或 .json 文件"),
        ],
    )


class PlanForm(FlaskForm):
    name = StringField("计划名称", validators=[DataRequired(), Length(min=2, max=128)])
    county_id = SelectField("区县", coerce=int, choices=[])
    industry_id = SelectField("行业", coerce=int, choices=[])
    enterprise_code = StringField(
        "指定企业（输入名称搜索，或填统一社会信用代码；可留空）", validators=[Optional(), Length(max=160)]
    )
    job_categories = MultiCheckboxField("岗位类别（不选为全部）", choices=JOB_CHOICES)
    opens_at = DateTimeLocalField(
        "开始时间（北京时间）", format=LOCAL_FORMATS, validators=[InputRequired("请填写开始时间")]
    )
    closes_at = DateTimeLocalField(
        "结束时间（北京时间）", format=LOCAL_FORMATS, validators=[InputRequired("请填写结束时间")]
    )
    max_attempts = IntegerField("考试次数上限", default=2, validators=[InputRequired(), NumberRange(1, 10)])
    ruleset_id = SelectField("试卷规则", choices=[])
    mean_interval_seconds = IntegerField(
        "人脸抽检平均间隔（秒）", default=90, validators=[InputRequired(), NumberRange(30, 3600)]
    )
    retries = IntegerField(
        "比对不符后允许重拍次数（用完即暂停考试）", default=2, validators=[InputRequired(), NumberRange(0, 5)]
    )
    review_answers = BooleanField("交卷后在终端上显示错题、正确答案和依据")


class KioskForm(FlaskForm):
    name = StringField("终端名称", validators=[DataRequired(), Length(max=64)])
    location = StringField("安装地点", validators=[Length(max=128)])
    county_id = SelectField("所属区县", coerce=int, choices=[])


class UserEditForm(FlaskForm):
    display_name = StringField("姓名", validators=[DataRequired(), Length(max=64)])
    role = SelectField("角色", choices=options((role.value, label) for role, label in ROLE_LABELS.items()))
    county_id = SelectField("区县（区县管理员、审核员）", coerce=int, choices=[])
    enterprise_code = StringField(
        "企业（企业管理员；输入名称搜索，或填统一社会信用代码）", validators=[Optional(), Length(max=160)]
    )


class UserForm(UserEditForm):
    username = StringField(
        "用户名",
        validators=[
            DataRequired(),
            Length(min=3, max=64),
            Regexp(r"^[A-Za-z0-9_.-]+$", message="只能包含字母、数字和 _ . -"),
        ],
    )


class AuditSearchForm(SearchForm):
    action = SelectField("操作", choices=options([("", "全部操作")]), validate_choice=False)
    username = StringField("用户名", validators=[Optional(), Length(max=64)])
    date_from = DateField("开始日期", validators=[Optional()])
    date_to = DateField("结束日期", validators=[Optional()])
