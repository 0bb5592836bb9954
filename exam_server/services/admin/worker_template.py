"""The XLSX template offered for worker imports: header, text-formatted ID column, job drop-down, notes."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from exam_server.models import JOB_CATEGORY_LABELS


def template_xlsx() -> bytes:
    """Return the import template: header row, text-formatted ID column, job drop-down and notes."""
    book = Workbook()
    sheet = book.active
    sheet.title = "从业人员"
    sheet.append(["姓名*", "身份证号*", "岗位类别*", "手机号", "统一社会信用代码"])
    for letter, width in zip("ABCDE", (14, 24, 20, 16, 24), strict=False):
        sheet.column_dimensions[letter].width = width
    for row in range(2, 2002):
        for letter in "BDE":
            sheet[f"{letter}{row}"].number_format = "@"
    jobs = DataValidation(type="list", formula1='"' + ",".join(JOB_CATEGORY_LABELS.values()) + '"', allow_blank=False)
    jobs.add("C2:C100000")
    sheet.add_data_validation(jobs)
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("填写说明")
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 80
    for line in NOTES:
        notes.append(line)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


NOTES = (
    ("列", "说明"),
    ("姓名", "必填，不超过64个字符。"),
    ("身份证号", "必填，18位居民身份证号，末位X大小写均可。请保持单元格为文本格式，否则号码会失真。"),
    ("岗位类别", "必填：" + "、".join(JOB_CATEGORY_LABELS.values()) + "。"),
    ("手机号", "选填，11位手机号或带区号的固定电话。"),
    ("统一社会信用代码", "选填。企业管理员可留空（导入本企业）；区县、市级管理员可在导入时选择企业，或逐行填写。"),
    ("错误处理", "导入前逐行检查，错误以“第N行 列名: 原因”列出；有错误时默认不导入任何数据，可选择仅导入有效行。"),
    ("示例", "张伟，37130219900307123X，一般从业人员，13800138000"),
)
