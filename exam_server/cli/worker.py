"""`exam-server worker`: run job worker processes on this host, on the queue EXAM_QUEUE_URL names."""

from __future__ import annotations

import logging
import os
from urllib.parse import urlsplit, urlunsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from exam_server.extensions import db, job_queue


def describe_queue(url: str) -> str:
    """Return the queue URL without any password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)))


@click.command("worker")
@click.option("--processes", type=int, default=None, help="worker processes (default: every core)")
@click.option(
    "--periodic/--no-periodic",
    default=True,
    show_default=True,
    help="also schedule the periodic jobs (safe on every host: each slot runs once)",
)
@click.option("--log-level", default="INFO", show_default=True)
@with_appcontext
def worker(processes: int | None, periodic: bool, log_level: str) -> None:
    """Run job workers: ZIP enrolment chunks, re-enrolment, imports, exports, the sweep and the purge."""
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    count = processes or os.cpu_count() or 1
    if count < 1:
        raise click.BadParameter("must be at least 1", param_hint="--processes")
    queue = job_queue.current
    url = current_app.config["QUEUE_URL"]
    if url == "immediate":
        raise click.ClickException("EXAM_QUEUE_URL=immediate runs jobs inside the web process; no worker to start")
    click.echo(f"job worker: {count} processes on {describe_queue(url)} (queue {current_app.config['QUEUE_NAME']})")
    db.session.remove()
    db.engine.dispose()  # the worker processes fork: none may share the parent's connections
    queue.consumer(count, periodic=periodic).run()
