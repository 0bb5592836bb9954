"""The XLSX import template offered for download in the console."""

from __future__ import annotations

from .model import INDUSTRIES, JOB_CATEGORIES
from .rows import EXAMPLE_CODE, SHEET_HEADERS
from .xlsx_io import write_questions

EXAMPLE_ROW: dict[str, object] = {
    "编号": EXAMPLE_CODE,
    "题型": "多选",
    "题干": "生产经营单位的从业人员有权了解其作业场所和工作岗位存在的哪些情况？",
    "选项A": "危险因素",
    "选项B": "防范措施",
    "选项C": "事故应急措施",
    "选项D": "企业年度利润",
    "答案": "ABC",
    "解析": "从业人员有权了解作业场所和工作岗位存在的危险因素、防范措施及事故应急措施。",
    "分类": "安全生产法律法规",
    "行业": "",
    "岗位": "一般从业人员;安全生产管理人员",
    "难度": 2,
    "分值": "",
    "依据": "《中华人民共和国安全生产法》（2021年修正）第五十三条",
    "状态": "启用",
    "版本": 1,
    "仅考试": "否",
}

NOTES: tuple[tuple[str, str], ...] = (
    ("说明", f"第 2 行（编号 {EXAMPLE_CODE}）是示例，导入时会被忽略，可删除或覆盖。每行一道题。"),
    ("编号", "必填，唯一，不含空格，如 FIRE-001。与题库已有编号重复的行会被拒绝。"),
    ("题型", "必填：单选 / 多选 / 判断。"),
    ("题干", "必填。与已有题干重复的行会被拒绝。"),
    ("选项A-F", "单选至少 2 个、多选至少 3 个选项，从 A 开始连续填写。判断题选项可留空（自动为 正确/错误）。"),
    ("答案", "填选项字母，如 B 或 ACD；多选题至少两个正确选项。判断题可填 正确/错误（或 A/B）。"),
    ("解析", "选填。"),
    ("分类", "必填，如 安全生产法律法规、消防安全、危险化学品。"),
    (
        "行业",
        "选填，多个用 ; 或 ；分隔，留空表示所有行业。可用："
        + "、".join(f"{v}（{k}）" for k, v in INDUSTRIES.items())
        + "。",
    ),
    (
        "岗位",
        "选填，多个用 ; 或 ；分隔，留空表示所有岗位。可用："
        + "、".join(f"{v}（{k}）" for k, v in JOB_CATEGORIES.items())
        + "。",
    ),
    ("难度", "必填，1（最易）到 5（最难）的整数。"),
    ("分值", "选填，留空则按组卷规则中该题型的分值。"),
    ("依据", "选填，如《中华人民共和国安全生产法》（2021年修正）第二十八条。"),
    ("状态", "选填：启用 / 草稿 / 停用，留空为启用。只有启用的题目会被组卷。"),
    ("版本", "选填，正整数，留空为 1。"),
    ("仅考试", "选填：是 / 否，留空为否。填“是”的题目只用于正式考试，练习和模拟考试不出此题。"),
    ("错误处理", "导入时逐行检查，错误会以“第 N 行，某列：原因”列出；有任何错误时默认不导入任何题目。"),
)


def build_template() -> bytes:
    """Return the XLSX template: header row, one example row, drop-downs and a notes sheet."""
    example = [EXAMPLE_ROW.get(h, "") for h in SHEET_HEADERS]
    return write_questions([], example=example, notes=NOTES)
