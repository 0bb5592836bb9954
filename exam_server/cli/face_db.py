"""`exam-server face enroll-batch`, `face reenrol` and `face purge-evidence`: the face commands that need the database."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from exam_server.extensions import db
from exam_server.face import FaceRefusal
from exam_server.face.batch import enrol_batch
from exam_server.face.reembed import model_key, reembed_files
from exam_server.jobs import tasks
from exam_server.models import PhotoSource
from exam_server.services.faces import face_reenrol, face_service, reenrol_jobs

REPORT_COLUMNS = ("file", "citizen_id", "error", "message", "detail")
REENROL_COLUMNS = ("photo_id", "worker_id", "file", "error", "message", "detail")


@click.command("enroll-batch")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV of refused photos (default: DIRECTORY/enroll-report.csv)",
)
@click.option("--processes", type=int, default=None, help="analysis processes (default: every core)")
@click.option("--commit-every", type=int, default=100, show_default=True)
@with_appcontext
def enroll_batch(directory: Path, report: Path | None, processes: int | None, commit_every: int) -> None:
    """Enrol every photo in DIRECTORY named by citizen ID (110101199003071234.jpg); safe to run again."""
    todo, refused, skipped = face_service.plan_batch(db.session, face_service.image_files(directory))
    click.echo(
        f"{len(todo)} photos to enrol, {skipped} already enrolled from the same file, "
        f"{len(refused)} refused before analysis"
    )
    enrolled = 0
    # The pool forks: children must not inherit open database connections.
    db.session.commit()
    db.engine.dispose()
    results = enrol_batch(
        [path for path, _ in todo],
        source=PhotoSource.BATCH.value,
        processes=processes or os.cpu_count() or 1,
        settings=face_service.settings(),
    )
    with tqdm(total=len(todo), unit="photo", desc="enrolling", dynamic_ncols=True) as bar:
        for (path, worker_id), result in zip(todo, results, strict=False):
            if result.sample is not None:
                face_service.enrol_file(db.session, worker_id, path, result.sample)
                enrolled += 1
                if enrolled % commit_every == 0:
                    db.session.commit()
            else:
                refused.append(
                    {
                        "file": path.name,
                        "citizen_id": path.stem,
                        "error": result.error,
                        "message": result.message_zh,
                        "detail": result.detail,
                    }
                )
            bar.update(1)
    db.session.commit()
    report = report or directory / "enroll-report.csv"
    with open(report, "w", newline="", encoding="utf-8-sig") as handle:  # BOM: Excel opens it as UTF-8
        writer = csv.DictWriter(handle, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(refused)
    click.echo(f"enrolled {enrolled}, skipped {skipped}, refused {len(refused)} (report: {report})")


@click.command("purge-evidence")
@click.option("--days", type=int, default=None, help="retention in days (default: EVIDENCE_RETENTION_DAYS)")
@with_appcontext
def purge_evidence(days: int | None) -> None:
    """Delete evidence frames older than the retention period, except those of open review cases."""
    retention = days if days is not None else current_app.config["EVIDENCE_RETENTION_DAYS"]
    removed = face_service.purge_evidence(db.session, retention)
    click.echo(f"removed {removed} evidence files older than {retention} days")


@click.command("reenrol")
@click.option("--model", "model_name", required=True, help="model to add, e.g. sface_2021dec_int8bq")
@click.option("--processes", type=int, default=None, help="analysis processes (default: every core)")
@click.option("--commit-every", type=int, default=100, show_default=True)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV of refused photos (default: DATA_DIR/face/reenrol-MODEL-report.csv)",
)
@click.option(
    "--queue",
    "queued",
    is_flag=True,
    help="queue the work for the job workers of every host instead of doing it here (follow: exam-server jobs show ID)",
)
@with_appcontext
def reenrol(model_name: str, processes: int | None, commit_every: int, report: Path | None, queued: bool) -> None:
    """Re-embed every current enrolment photo lacking a template of MODEL; safe to stop and run again."""
    settings = face_service.settings()
    try:
        key = model_key(model_name, settings)
    except (KeyError, PermissionError, FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc.args[0] if isinstance(exc, KeyError) else exc)) from None
    name, version = key.split("/", 1)
    if queued:
        job = reenrol_jobs.create(db.session, name, version, current_app.config["JOB_CHUNK_PHOTOS"])
        db.session.commit()
        tasks.start(job.id)
        click.echo(f"job {job.id}: {job.total} photos to re-embed with {key} queued (exam-server jobs show {job.id})")
        return
    work = face_reenrol.plan(db.session, name, version)
    click.echo(f"{len(work.todo)} photos to re-embed with {key}, {work.done} already have a template of it")
    stored = skipped = 0
    refused: list[dict] = []
    worker_of = {pid: wid for pid, wid in face_reenrol.workers_of(db.session, [p for p, _, _ in work.todo])}
    # The pool forks: children must not inherit open database connections.
    db.session.commit()
    db.engine.dispose()
    results = reembed_files(work.todo, name, settings, processes=processes or os.cpu_count() or 1)
    with tqdm(total=len(work.todo), unit="photo", desc=f"re-embedding ({name})", dynamic_ncols=True) as bar:
        for result in results:
            if result.ok:
                if face_reenrol.store(db.session, work, result) is None:
                    skipped += 1  # re-enrolled with a new photo, or done by another run, meanwhile
                else:
                    stored += 1
                if (stored + skipped) % commit_every == 0:
                    db.session.commit()
            else:
                refused.append(
                    {
                        "photo_id": result.photo_id,
                        "worker_id": worker_of.get(result.photo_id),
                        "file": result.path,
                        "error": result.error,
                        "message": FaceRefusal(result.error).message_zh if result.error else "",
                        "detail": result.detail,
                    }
                )
            bar.update(1)
            bar.set_postfix(stored=stored, refused=len(refused), refresh=False)
    db.session.commit()
    for row in refused:
        click.echo(f"refused photo {row['photo_id']} of worker {row['worker_id']}: {row['error']} {row['message']}")
    if refused:
        report = report or face_service.data_dir() / "face" / f"reenrol-{name}-report.csv"
        report.parent.mkdir(parents=True, exist_ok=True)
        with open(report, "w", newline="", encoding="utf-8-sig") as handle:  # BOM: Excel opens it as UTF-8
            writer = csv.DictWriter(handle, fieldnames=REENROL_COLUMNS)
            writer.writeheader()
            writer.writerows(refused)
    click.echo(
        f"stored {stored}, skipped {skipped}, refused {len(refused)}"
        + (
            f" (report: {report}); a refused worker keeps the other models' templates until a new photo"
            if refused
            else ""
        )
    )


COMMANDS = (enroll_batch, purge_evidence, reenrol)
