"""Exports too large to write during a request (a whole city's results as XLSX) as queued jobs.

A worker writes the file and stores it on the job, in the database, so the web host that serves the
download needs nothing from the worker's disk. The scope is checked again by the worker with the
requesting user's rights, exactly as the page would.
"""

from __future__ import annotations

from exam_server import catalogue
from exam_server.database import DbSession
from exam_server.models import N_, DomainError, ItemState, Job, RequirementStatus, User, utcnow
from exam_server.services import job_state
from exam_server.services.reporting import exports as ex
from exam_server.services.reporting import statistics as stats

KIND = "export"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = {  # kind: (file name part, sheet title, columns), msgids of the console's catalogue
    "figures": (N_("参考率合格率统计"), N_("参考率合格率"), ex.FIGURE_COLUMNS),
    "results": (N_("考试成绩明细"), N_("成绩明细"), ex.RESULT_COLUMNS),
    "pending": (N_("未参考人员名单"), N_("未参考人员"), ex.RESULT_COLUMNS),
    "practice": (N_("练习与合格率"), N_("练习与合格率"), ex.PRACTICE_COLUMNS),
    "weak_categories": (N_("练习薄弱分类"), N_("薄弱分类"), ex.WEAK_COLUMNS),
}
SUMMARIES = {"figures": ex.figure_rows, "practice": ex.practice_rows, "weak_categories": ex.weak_category_rows}


def create(
    session: DbSession,
    kind: str,
    place_args: dict[str, int],
    filters: stats.Filters,
    user: User,
    locale: str = catalogue.SHIPPED,
) -> Job:
    """Store an XLSX export as a one-item job in the requester's language (the caller commits and queues it)."""
    tr = catalogue.translator(locale)
    what = tr(KINDS[kind][0])
    return job_state.create(
        session,
        KIND,
        [job_state.NewItem(f"{what}.xlsx", kind)],
        chunk_size=1,
        title=tr(N_("导出：%(what)s（XLSX）")) % {"what": what},
        user_id=user.id,
        params={"kind": kind, "place": place_args, "filters": filters.args(), "locale": locale},
    )


def rows(
    session: DbSession,
    kind: str,
    user: User,
    place: stats.Place,
    filters: stats.Filters,
    locale: str = catalogue.SHIPPED,
):
    """Yield an export's rows in a console language (the console streams the same rows)."""
    if kind in SUMMARIES:
        yield from SUMMARIES[kind](session, user, place, filters, locale)
    else:
        status = RequirementStatus.PENDING if kind == "pending" else None
        yield from ex.result_rows(session, user, place, filters, status, locale)


def run_chunk(session: DbSession, job_id: int, number: int, lease_seconds: float) -> dict[str, int]:
    """Write the export and keep it on the job, if this worker gets the lease."""
    lease = job_state.take_chunk(session, job_id, number, lease_seconds)
    if lease is None:
        return {"claimed": 0}
    user = job_state.active_starter(session, lease.job)
    params = lease.job.params
    for item_id in job_state.each_item(session, lease, long_items=True):
        try:
            if user is None:
                raise DomainError(N_("发起导出的账号已停用"))
            place = stats.resolve_place(session, user, **params["place"])
            filters = stats.Filters.parse(params["filters"])
            what, title, columns = KINDS[params["kind"]]
            locale = params.get("locale", catalogue.SHIPPED)
            tr = catalogue.translator(locale)
            sheet = (tr(title), ex.translated(columns, tr), rows(session, params["kind"], user, place, filters, locale))
            with ex.xlsx_file([sheet], ex.heading(session, what, place, filters, utcnow(), tr)) as handle:
                data = handle.read()
        except DomainError as exc:  # OutOfScope included: the user's rights changed since asking
            session.rollback()
            job_state.finish_item(session, item_id, ItemState.REFUSED, str(exc) or "导出范围超出您的管理范围")
            session.commit()
            continue
        if job_state.finish_item(session, item_id, ItemState.DONE):
            job_state.complete(session, job_id, data, ex.filename(place, what, "xlsx", utcnow(), tr), XLSX)
            session.commit()
        else:
            session.rollback()
    return {"claimed": 1}
