"""`exam-server jobs list|show|cancel`: follow queued work from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from exam_server.extensions import db
from exam_server.models import Job
from exam_server.services import job_state


@click.group("jobs")
def jobs() -> None:
    """Follow and cancel queued jobs (ZIP enrolments, re-enrolments...)."""


@jobs.command("list")
@click.option("--limit", type=int, default=20, show_default=True)
@with_appcontext
def list_jobs(limit: int) -> None:
    """List the newest jobs with their progress."""
    for job in db.session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)):
        p = job_state.progress(db.session, job)
        click.echo(f"{job.id:>6}  {job.kind:<10} {p.state:<9} {p.done}/{p.total}  refused {p.refused}  {job.title}")


@jobs.command("show")
@click.argument("job_id", type=int)
@with_appcontext
def show(job_id: int) -> None:
    """Show a job's state, counts, rate, time left and first refusals."""
    job = db.session.get(Job, job_id) or _missing(job_id)
    p = job_state.progress(db.session, job)
    click.echo(f"job {job.id} {job.kind} ({job.title}): {p.state}")
    click.echo(
        f"  done {p.done}/{p.total}: {p.enrolled} done, {p.skipped} skipped, {p.refused} refused; {p.remaining} left"
    )
    if p.rate is not None:
        eta = f", about {p.eta_seconds / 60:.0f} min left" if p.eta_seconds is not None else ""
        click.echo(f"  rate {p.rate * 60:.1f} per minute over the last minute{eta}")
    if p.error:
        click.echo(f"  error: {p.error}")
    for row in p.refusals[:20]:
        click.echo(f"  refused {row['file']} ({row['citizen_id']}): {row['message']}")


@jobs.command("cancel")
@click.argument("job_id", type=int)
@with_appcontext
def cancel(job_id: int) -> None:
    """Cancel a job: workers stop before their next item; what is done stays done."""
    job = db.session.get(Job, job_id) or _missing(job_id)
    if not job_state.cancel(db.session, job):
        raise click.ClickException(f"job {job_id} already finished ({job.state.value})")
    db.session.commit()
    click.echo(f"job {job_id} cancelled")


def _missing(job_id: int) -> Job:
    raise click.ClickException(f"no job {job_id}")
