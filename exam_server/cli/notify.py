"""`exam-server notify run` and `exam-server certificates renew`: the reminder and renewal jobs, run once."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from exam_server.extensions import db
from exam_server.services.admin import renewals
from exam_server.services.admin.notifications import dispatch, queue_due


@click.group("notify")
def notify() -> None:
    """Reminders: queue what the rules say is due and send it."""


@notify.command("run")
@click.option("--queue/--no-queue", "do_queue", default=True, help="evaluate the reminder rules")
@click.option("--send/--no-send", "do_send", default=True, help="send the SMS and e-mail that are due")
@with_appcontext
def run(do_queue: bool, do_send: bool) -> None:
    """Evaluate the reminder rules once and send what is due (the periodic jobs do the same)."""
    if do_queue:
        for rule, count in queue_due(db.session).items():
            click.echo(f"queued {count:>6}  {rule}")
    if do_send:
        counts = dispatch(db.session)
        click.echo("sent {sent}, to retry {pending}, failed {failed}, uncertain {uncertain}".format(**counts))


@click.group("certificates")
def certificates() -> None:
    """Certificates: expiry and renewal."""


@certificates.command("renew")
@with_appcontext
def renew() -> None:
    """Mark lapsed certificates' requirements expired and make the renewal requirements that are due."""
    counts = renewals.run(db.session)
    click.echo(
        "requirements expired {requirements_expired}, renewal requirements {renewals}, "
        "due but no open plan covers them {renewals_without_plan}".format(**counts)
    )
