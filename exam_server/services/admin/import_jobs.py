"""A large worker import as a queued job: checked again and written by a worker, all rows or none.

Above IMPORT_JOB_ROWS rows the console queues the confirmed import instead of writing it in the
request (a city's 310,000 rows take 25-55 s). The file travels in the job's one item, so any
worker host can take it; the rows and the item's "done" commit together, so an import killed
midway is written whole by the next worker, never twice.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from exam_server import catalogue
from exam_server.database import DbSession
from exam_server.models import N_, DomainError, Enterprise, ItemState, Job, User
from exam_server.services import job_state
from exam_server.services.admin import worker_import

KIND = "worker_import"
CHANGED_MEANWHILE = N_("导入期间数据发生变化（如同一人员已被他人登记），未导入任何数据，请重新检查")


def create(
    session: DbSession,
    data: bytes,
    filename: str,
    user: User,
    enterprise_id: int | None,
    accept_valid_rows: bool,
    locale: str = catalogue.SHIPPED,
) -> Job:
    """Store a confirmed import as a one-item job in the requester's language (the caller commits and queues it)."""
    tr = catalogue.translator(locale)
    return job_state.create(
        session,
        KIND,
        [job_state.NewItem(filename or "workers", "", payload=data)],
        chunk_size=1,
        title=tr(N_("导入从业人员：%(file)s")) % {"file": filename},
        user_id=user.id,
        params={
            "enterprise_id": enterprise_id,
            "accept_valid_rows": accept_valid_rows,
            "filename": filename[:200],
            "locale": locale,
        },
    )


def run_chunk(session: DbSession, job_id: int, number: int, lease_seconds: float) -> dict[str, int]:
    """Check and write the import, if this worker gets the lease; the outcome is the item's message."""
    lease = job_state.take_chunk(session, job_id, number, lease_seconds)
    if lease is None:
        return {"claimed": 0}
    user = job_state.active_starter(session, lease.job)
    params = lease.job.params
    enterprise = session.get(Enterprise, params["enterprise_id"]) if params.get("enterprise_id") else None
    for item_id in job_state.each_item(session, lease, long_items=True):
        data = job_state.item_payload(session, item_id) or b""
        state, message = _write(session, data, params, user, enterprise)
        if state is ItemState.REFUSED:
            session.rollback()
        if job_state.finish_item(session, item_id, state, message):
            session.commit()
        else:
            session.rollback()
    return {"claimed": 1}


def _write(
    session: DbSession, data: bytes, params: dict, user: User | None, enterprise: Enterprise | None
) -> tuple[ItemState, str]:
    tr = catalogue.translator(params.get("locale", catalogue.SHIPPED))  # the outcome in the requester's language
    if user is None:
        return ItemState.REFUSED, tr(N_("发起导入的账号已停用"))
    try:
        result = worker_import.check(session, data, params["filename"], user, enterprise)
        outcome = worker_import.write(
            session, result, user, accept_valid_rows=bool(params["accept_valid_rows"]), filename=params["filename"]
        )
    except DomainError as exc:
        return ItemState.REFUSED, tr(exc.msgid) % exc.params if exc.params else tr(exc.msgid)
    except IntegrityError:
        return ItemState.REFUSED, tr(CHANGED_MEANWHILE)
    done = tr(N_("已导入%(imported)d人，跳过%(skipped)d行有错误的数据，新增考试任务%(requirements)d项"))
    return (
        ItemState.DONE,
        done % {"imported": outcome.imported, "skipped": outcome.skipped_rows, "requirements": outcome.requirements},
    )
