"""Console forms (Flask-WTF: every POST form carries a CSRF token; search forms use GET and none)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
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

from exam_server.i18n import LABEL_CONTEXT
from exam_server.models import JOB_CATEGORY_LABELS, ROLE_LABELS
from question_bank import QuestionType, Status


def _label(text: str):
    """Return a stored state's label, translated when the form is shown (the label is the msgid)."""
    return lazy_pgettext(LABEL_CONTEXT, text)


def options(pairs) -> list[SelectChoice]:
    """Return select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


JOB_CHOICES = options((job.value, _label(label)) for job, label in JOB_CATEGORY_LABELS.items())
QTYPE_CHOICES = options((t.value, _label(t.label)) for t in QuestionType)
STATUS_CHOICES = options((s.value, _label(s.label)) for s in (Status.ACTIVE, Status.DRAFT, Status.RETIRED))
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]  # what datetime-local inputs send and show
CREDIT_CODE = Regexp(r"^\s*([0-9A-Za-z]{18})?\s*$", message=_l("统一社会信用代码应为18位"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SearchForm(FlaskForm):
    """A GET form: no CSRF token, values come from the query string."""

    class Meta:
        csrf = False


class WorkerSearchForm(SearchForm):
    name = StringField(_l("姓名"), validators=[Optional(), Length(max=64)])
    citizen_id = StringField(_l("身份证号"), validators=[Optional(), Length(max=18)])
    enterprise = StringField(_l("企业名称或信用代码"), validators=[Optional(), Length(max=128)])
    county = SelectField(_l("区县"), choices=[], validate_choice=False)  # the user's counties, set by the view
    job_category = SelectField(
        _l("岗位类别"), choices=[SelectChoice("", _l("全部")), *JOB_CHOICES], validate_choice=False
    )
    photo = SelectField(
        _l("人脸照片"),
        choices=options([("", _l("全部")), ("enrolled", _l("已登记")), ("missing", _l("未登记"))]),
        validate_choice=False,
    )


class PracticeSearchForm(WorkerSearchForm):
    practised = SelectField(
        _l("练习情况"),
        choices=options([("", _l("全部")), ("yes", _l("已练习")), ("no", _l("未练习"))]),
        validate_choice=False,
    )


class WorkerImportForm(FlaskForm):
    file = FileField(
        _l("人员名单（XLSX或CSV）"),
        validators=[FileRequired(_l("请选择文件")), FileAllowed(["xlsx", "csv"], _l("只接受 .xlsx 或 .csv 文件"))],
    )
    enterprise_code = StringField(_l("导入到企业（统一社会信用代码）"), validators=[Optional(), CREDIT_CODE])


class ImportConfirmForm(FlaskForm):
    import_all = SubmitField(_l("确认导入"))
    import_valid = SubmitField(_l("仅导入有效行"))


class PhotoForm(FlaskForm):
    photo = FileField(
        _l("登记照片（JPEG或PNG）"),
        validators=[FileRequired(_l("请选择照片")), FileAllowed(["jpg", "jpeg", "png"], _l("只接受 JPEG 或 PNG 图片"))],
    )


class PhotoZipForm(FlaskForm):
    archive = FileField(
        _l("照片压缩包（ZIP，文件名为身份证号）"),
        validators=[FileRequired(_l("请选择ZIP文件")), FileAllowed(["zip"], _l("只接受 .zip 文件"))],
    )


class QuestionSearchForm(SearchForm):
    text = StringField(_l("题干或编号"), validators=[Optional(), Length(max=100)])
    category = SelectField(_l("分类"), choices=options([("", _l("全部分类"))]), validate_choice=False)
    qtype = SelectField(_l("题型"), choices=options([("", _l("全部题型"))]) + QTYPE_CHOICES)
    difficulty = SelectField(
        _l("难度"), choices=options([("", _l("全部难度"))] + [(str(d), str(d)) for d in range(1, 6)])
    )
    status = SelectField(_l("状态"), choices=options([("", _l("全部状态"))]) + STATUS_CHOICES)


class QuestionForm(FlaskForm):
    qtype = SelectField(_l("题型"), choices=QTYPE_CHOICES)
    stem = TextAreaField(_l("题干"), validators=[DataRequired(), Length(max=2000)])
    option_a = StringField(_l("选项A"), validators=[Length(max=500)])
    option_b = StringField(_l("选项B"), validators=[Length(max=500)])
    option_c = StringField(_l("选项C"), validators=[Length(max=500)])
    option_d = StringField(_l("选项D"), validators=[Length(max=500)])
    option_e = StringField(_l("选项E"), validators=[Length(max=500)])
    option_f = StringField(_l("选项F"), validators=[Length(max=500)])
    answer = StringField(
        _l("答案（选项字母，如 B 或 ACD；判断题 A 为正确）"), validators=[DataRequired(), Length(max=6)]
    )
    explanation = TextAreaField(_l("解析"), validators=[Length(max=2000)])
    category = StringField(_l("分类"), validators=[DataRequired(), Length(max=64)])
    difficulty = IntegerField(_l("难度（1-5）"), validators=[InputRequired(), NumberRange(1, 5)])
    points = FloatField(_l("分值（留空按试卷规则）"), validators=[Optional(), NumberRange(min=0.5, max=100)])
    basis = StringField(_l("法规依据"), validators=[Length(max=255)])
    status = SelectField(_l("状态"), choices=STATUS_CHOICES)
    job_categories = MultiCheckboxField(_l("适用岗位（不选为全部）"), choices=JOB_CHOICES)
    industries = MultiCheckboxField(_l("适用行业（不选为全部）"), choices=[])
    exam_only = BooleanField(_l("仅用于正式考试（练习和模拟考试不出此题）"))


class QuestionImageForm(FlaskForm):
    image = FileField(
        _l("题目图片（PNG或JPEG，不超过2 MB，短边至少64像素）"), validators=[FileRequired(_l("请选择图片"))]
    )


DIFFICULTY_BANDS = options(
    [("any", _l("不限")), ("1-2", _l("1-2（较易）")), ("3-5", _l("3-5（较难）")), ("1-3", "1-3"), ("4-5", "4-5")]
    + [(str(d), str(d)) for d in range(1, 6)]
)


class PaperRuleRow(Form):
    """One rule of a paper: how many questions of a type and category, in a difficulty band (no CSRF: a sub-form)."""

    category = SelectField(_l("分类"), choices=[], validate_choice=False)
    qtype = SelectField(_l("题型"), choices=QTYPE_CHOICES)
    difficulty = SelectField(_l("难度"), choices=DIFFICULTY_BANDS, validate_choice=False)
    count = IntegerField(_l("题数"), validators=[Optional(), NumberRange(0, 200)])


class PaperRulesForm(FlaskForm):
    name = StringField(_l("试卷规则名称"), validators=[DataRequired(), Length(max=64)])
    duration_minutes = IntegerField(_l("考试时长（分钟）"), validators=[InputRequired(), NumberRange(5, 240)])
    pass_mark = FloatField(_l("及格分"), validators=[InputRequired(), NumberRange(0.5, 1000)])
    points_single = FloatField(_l("单选题每题分值"), validators=[InputRequired(), NumberRange(0.5, 100)])
    points_multiple = FloatField(_l("多选题每题分值"), validators=[InputRequired(), NumberRange(0.5, 100)])
    points_truefalse = FloatField(_l("判断题每题分值"), validators=[InputRequired(), NumberRange(0.5, 100)])
    rules = FieldList(FormField(PaperRuleRow), min_entries=1, max_entries=60)


class QuestionImportForm(FlaskForm):
    file = FileField(
        _l("题目文件（XLSX、CSV或JSON）"),
        validators=[
            FileRequired(_l("请选择文件")),
            FileAllowed(["xlsx", "csv", "json"], _l("只接受 .xlsx、.csv 或 .json 文件")),
        ],
    )


class PlanForm(FlaskForm):
    name = StringField(_l("计划名称"), validators=[DataRequired(), Length(min=2, max=128)])
    county_id = SelectField(_l("区县"), coerce=int, choices=[])
    industry_id = SelectField(_l("行业"), coerce=int, choices=[])
    enterprise_code = StringField(
        _l("指定企业（输入名称搜索，或填统一社会信用代码；可留空）"), validators=[Optional(), Length(max=160)]
    )
    job_categories = MultiCheckboxField(_l("岗位类别（不选为全部）"), choices=JOB_CHOICES)
    opens_at = DateTimeLocalField(
        _l("开始时间（北京时间）"), format=LOCAL_FORMATS, validators=[InputRequired(_l("请填写开始时间"))]
    )
    closes_at = DateTimeLocalField(
        _l("结束时间（北京时间）"), format=LOCAL_FORMATS, validators=[InputRequired(_l("请填写结束时间"))]
    )
    max_attempts = IntegerField(_l("考试次数上限"), default=2, validators=[InputRequired(), NumberRange(1, 10)])
    ruleset_id = SelectField(_l("试卷规则"), choices=[])
    mean_interval_seconds = IntegerField(
        _l("人脸抽检平均间隔（秒）"), default=90, validators=[InputRequired(), NumberRange(30, 3600)]
    )
    retries = IntegerField(
        _l("比对不符后允许重拍次数（用完即暂停考试）"), default=2, validators=[InputRequired(), NumberRange(0, 5)]
    )
    review_answers = BooleanField(_l("交卷后在终端上显示错题、正确答案和依据"))


class KioskForm(FlaskForm):
    name = StringField(_l("终端名称"), validators=[DataRequired(), Length(max=64)])
    location = StringField(_l("安装地点"), validators=[Length(max=128)])
    county_id = SelectField(_l("所属区县"), coerce=int, choices=[])


class UserEditForm(FlaskForm):
    display_name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=64)])
    role = SelectField(_l("角色"), choices=options((role.value, _label(label)) for role, label in ROLE_LABELS.items()))
    county_id = SelectField(_l("区县（区县管理员、审核员）"), coerce=int, choices=[])
    enterprise_code = StringField(
        _l("企业（企业管理员；输入名称搜索，或填统一社会信用代码）"), validators=[Optional(), Length(max=160)]
    )


class UserForm(UserEditForm):
    username = StringField(
        _l("用户名"),
        validators=[
            DataRequired(),
            Length(min=3, max=64),
            Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("只能包含字母、数字和 _ . -")),
        ],
    )


class AuditSearchForm(SearchForm):
    action = SelectField(_l("操作"), choices=options([("", _l("全部操作"))]), validate_choice=False)
    username = StringField(_l("用户名"), validators=[Optional(), Length(max=64)])
    date_from = DateField(_l("开始日期"), validators=[Optional()])
    date_to = DateField(_l("结束日期"), validators=[Optional()])
