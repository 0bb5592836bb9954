"""Participation and pass figures and worker-level results as CSV or XLSX, produced row by row.

Rows come from the database in batches (``yield_per``) and leave as they are written, so memory
stays flat however many rows the scope holds: CSV is a generator of byte chunks, XLSX is written row
by row (``xlsx_writer``) into a temporary file that is then read out in chunks.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO
from urllib.parse import quote

from sqlalchemy import select

from exam_server import catalogue, localday
from exam_server.database import DbSession
from exam_server.models import JOB_CATEGORY_LABELS, N_, Enterprise, ExamPlan, RequirementStatus, User
from exam_server.services.policy import enterprise_filter
from exam_server.services.reporting import practice_effect, xlsx_writer
from exam_server.services.reporting.statistics import Filters, Names, Place, Rates, counts_by, results_query
from question_bank.csv_io import FORMULA_START

BOM = "\ufeff"
BATCH = 1000
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"  # give it as content_type: Flask adds a charset to a text mimetype
# Column widths in characters by kind; a CJK character takes two.
WIDTHS = {"id": 21, "int": 10, "rate": 9, "time": 17, "date": 12, "score": 8}


# An export's words (column titles, heading, file name) are N_() msgids; the caller passes the console
# user's gettext (a job: its requester's catalogue), so exports follow the console's language.
Translate = Callable[[str], str]


def untranslated(text: str) -> str:
    """Return the Chinese text itself (the shipped language)."""
    return text


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = "text"  # text, id (a citizen ID), int, rate, time, date, score
    width: float = 0  # characters; 0: from the kind or the title

    @property
    def chars(self) -> float:
        """Return the column's width in the workbook."""
        return self.width or WIDTHS.get(self.kind) or max(10, 2 * len(self.title) + 2)


FIGURE_COLUMNS = (
    [Column(t) for t in (N_("区县"), N_("乡镇（街道）"), N_("行业"))]
    + [Column(N_("企业名称"), width=30), Column(N_("统一社会信用代码"), width=21)]
    + [Column(t, "int") for t in (N_("应考人数"), N_("参考人数"), N_("合格人数"), N_("未参考人数"))]
    + [Column(N_("参考率"), "rate"), Column(N_("合格率"), "rate")]
)
PRACTICE_COLUMNS = [
    Column(N_("考前练习")),
    Column(N_("考试场次"), "int"),
    Column(N_("合格场次"), "int"),
    Column(N_("合格率"), "rate"),
    Column(N_("说明"), width=60),
]
WEAK_COLUMNS = [
    Column(N_("企业名称"), width=30),
    Column(N_("统一社会信用代码"), width=21),
    Column(N_("分类"), width=20),
    Column(N_("练习答题数"), "int"),
    Column(N_("答对数"), "int"),
    Column(N_("正确率"), "rate"),
]
RESULT_COLUMNS = [
    Column(N_("区县")),
    Column(N_("乡镇（街道）")),
    Column(N_("行业")),
    Column(N_("企业名称"), width=30),
    Column(N_("姓名")),
    Column(N_("身份证号"), "id"),
    Column(N_("岗位类别"), width=14),
    Column(N_("考试计划"), width=26),
    Column(N_("状态")),
] + [
    Column(N_("考试次数"), "int"),
    Column(N_("首次参考时间"), "time"),
    Column(N_("合格时间"), "time"),
    Column(N_("最高分"), "score"),
    Column(N_("证书编号"), width=20),
    Column(N_("发证日期"), "date"),
    Column(N_("证书有效期至"), "date"),
]


def translated(columns: Sequence[Column], tr: Translate) -> list[Column]:
    """Return the columns with their titles in the caller's language, as wide as in Chinese."""
    return [replace(c, title=tr(c.title), width=c.chars) for c in columns]


def _figures(rates: Rates) -> list:
    return [rates.required, rates.sat, rates.passed, rates.pending, rates.participation, rates.pass_rate]


def figure_rows(
    session: DbSession, user: User, place: Place, filters: Filters, locale: str = catalogue.SHIPPED
) -> Iterator[list]:
    """Yield one row of figures per enterprise in the place (those with no requirement too), then the total."""
    groups = counts_by(session, user, place, filters, "enterprise")
    names = Names.load(session, place)
    query = select(
        Enterprise.id,
        Enterprise.name,
        Enterprise.credit_code,
        Enterprise.county_id,
        Enterprise.township_id,
        Enterprise.industry_id,
    ).order_by(Enterprise.county_id, Enterprise.township_id, Enterprise.name)
    query = enterprise_filter(user, query, Enterprise.id, Enterprise.county_id)
    for column, chosen in (
        (Enterprise.id, place.enterprise),
        (Enterprise.township_id, place.township),
        (Enterprise.county_id, place.county),
    ):
        if chosen is not None:
            query = query.where(column == chosen.id)
            break
    total = Rates()
    for e in session.execute(query):
        rates = groups.pop(e.id, Rates())
        total += rates
        yield [
            names.counties.get(e.county_id, ""),
            names.townships.get(e.township_id, ""),
            names.industries.get(e.industry_id, ""),
            e.name,
            e.credit_code,
            *_figures(rates),
        ]
    for rates in groups.values():  # requirements of enterprises no longer listed (moved or removed)
        total += rates
    yield [catalogue.translator(locale)(N_("合计")), "", "", "", "", *_figures(total)]


def practice_rows(
    session: DbSession, user: User, place: Place, filters: Filters, locale: str = catalogue.SHIPPED
) -> Iterator[list]:
    """Yield the sittings and pass rates of practised and not practised workers, then the total."""
    tr = catalogue.translator(locale)
    found = practice_effect.pass_by_practice(session, user, place, filters)
    for label, group, note in (
        (N_("练习过"), found.practised, practice_effect.definition(tr)),
        (N_("未练习"), found.not_practised, ""),
        (N_("合计"), found.total, ""),
    ):
        yield [tr(label), group.sittings, group.passed, group.pass_rate, note]


def weak_category_rows(
    session: DbSession, user: User, place: Place, filters: Filters, locale: str = catalogue.SHIPPED
) -> Iterator[list]:
    """Yield every category with enough practice answers, the place's first, then each enterprise's, weakest first."""
    tr = catalogue.translator(locale)
    found = practice_effect.weak_categories(session, user, place, filters, limit=None)
    scope = tr(N_("%(place)s（合计）")) % {"place": place_name(place, tr)}
    for c in found.scope:
        yield [scope, "", c.name, c.answers, c.right, c.right_share]
    for e in found.enterprises:
        for c in e.categories:
            yield [e.name, e.credit_code, c.name, c.answers, c.right, c.right_share]


def result_rows(
    session: DbSession,
    user: User,
    place: Place,
    filters: Filters,
    status: RequirementStatus | None = None,
    locale: str = catalogue.SHIPPED,
) -> Iterator[list]:
    """Yield one row per requirement (worker and plan) in the place, fetched from the database in batches."""
    label = catalogue.label_translator(locale)
    names = Names.load(session, place)
    query = results_query(session, user, place, filters, status).execution_options(yield_per=BATCH)
    for r in session.execute(query):
        enterprise = names.enterprises.get(r.enterprise_id, ("", ""))[0]
        yield [
            names.counties.get(r.county_id, ""),
            names.townships.get(r.township_id, ""),
            names.industries.get(r.industry_id, ""),
            enterprise,
            r.name,
            r.citizen_id,
            label(JOB_CATEGORY_LABELS.get(r.job_category, "")),
            names.plans.get(r.plan_id, ""),
            label(RequirementStatus(r.status).label),
            r.attempts,
            r.first_sat_at,
            r.passed_at,
            r.best_score,
            r.certificate_number,
            r.issued_on,
            r.valid_until,
        ]


def cell_text(value) -> str:
    """Return a cell's text; a leading formula character is quoted so a spreadsheet never runs it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_value(column: Column, value) -> str:
    """Return a CSV field: numbers and dates as text a spreadsheet reads back, nothing for no value."""
    if column.kind == "id":
        # Excel and LibreOffice read 18 digits as a number and keep 15 of them (371302199001011234 becomes
        # 3.71302E+17); a leading tab makes either keep the field as text (tests/console_stats: LibreOffice).
        text = cell_text(value)
        return "\t" + text if text else text
    if column.kind == "text":
        return cell_text(value)
    if value is None:
        return ""
    if column.kind == "rate":
        return f"{value * 100:.1f}%"
    if column.kind == "time":
        return localday.format_local(value)
    if column.kind == "date":
        return value.isoformat()
    if column.kind == "score":
        return f"{value:g}"
    return str(value)


def csv_chunks(columns: list[Column], rows: Iterable[list], rows_per_chunk: int = 500) -> Iterator[bytes]:
    """Yield a UTF-8 CSV (with the BOM Excel needs to read Chinese) in chunks of a few hundred rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([c.title for c in columns])
    for n, row in enumerate(rows, 1):
        writer.writerow([csv_value(c, v) for c, v in zip(columns, row, strict=False)])
        if n % rows_per_chunk == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _xlsx_cell(column: Column, value):
    if column.kind in ("text", "id"):
        return cell_text(value)
    if value is None:
        return None  # an empty cell: a number column holds numbers or nothing
    if column.kind == "rate":
        return xlsx_writer.Formatted(round(value, 4), "0.0%")
    if column.kind == "time":
        return xlsx_writer.Formatted(localday.to_wall_clock(value), "yyyy-mm-dd hh:mm")
    if column.kind == "date":
        return xlsx_writer.Formatted(value, "yyyy-mm-dd")
    return value


def _xlsx_rows(columns: list[Column], rows: Iterable[list]) -> Iterator[list]:
    yield [c.title for c in columns]
    for row in rows:
        yield [_xlsx_cell(c, v) for c, v in zip(columns, row, strict=False)]


def xlsx_file(sheets: list[tuple[str, list[Column], Iterable[list]]], heading: Sequence[str] = ()) -> IO[bytes]:
    """Write the sheets row by row to a temporary file; return it opened at the start, already unlinked.

    Each sheet opens as a report: the ``heading`` lines (a title, the scope), then the column header,
    frozen and filtered, over columns as wide as their kind needs.
    """
    handle = tempfile.TemporaryFile(prefix="export-", suffix=".xlsx")  # noqa: SIM115  (the caller streams and closes it)
    try:
        xlsx_writer.write(
            handle,
            [
                xlsx_writer.Sheet(title, _xlsx_rows(columns, rows), heading, True, [c.chars for c in columns])
                for title, columns, rows in sheets
            ],
        )
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    return handle


def file_chunks(handle: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    """Yield an open file in chunks and close it at the end."""
    with handle:
        while chunk := handle.read(size):
            yield chunk


def content_disposition(filename: str, fallback: str) -> str:
    """Return an attachment header naming the file in Chinese (RFC 5987) with an ASCII fallback."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def place_name(place: Place, tr: Translate = untranslated) -> str:
    """Return the name of the place an export covers ("全市" for the city)."""
    if place.enterprise:
        return place.enterprise.name
    if place.township:
        return place.township.name
    return place.county.name if place.county else tr(N_("全市"))


def filename(place: Place, what: str, extension: str, now: datetime, tr: Translate = untranslated) -> str:
    """Return e.g. "兰山区_考试成绩明细_20261129.csv" (``what`` a msgid)."""
    return f"{place_name(place, tr)}_{tr(what)}_{localday.local_date(now):%Y%m%d}.{extension}"


def heading(
    session: DbSession, what: str, place: Place, filters: Filters, now: datetime, tr: Translate = untranslated
) -> list[str]:
    """Return a workbook's title line and scope line: what (a msgid), where, which plan and months, when exported."""
    scope = [tr(N_("范围：%(place)s")) % {"place": place_name(place, tr)}]
    if filters.plan_id:
        plan = session.get(ExamPlan, filters.plan_id)
        scope.append(tr(N_("考试计划：%(plan)s")) % {"plan": plan.name if plan else filters.plan_id})
    if filters.month_from or filters.month_to:
        months = {"first": filters.month_from or "…", "last": filters.month_to or "…"}
        scope.append(tr(N_("月份：%(first)s 至 %(last)s")) % months)
    scope.append(tr(N_("导出时间：%(time)s")) % {"time": localday.format_local(now)})
    return [tr(what), "　".join(scope)]
