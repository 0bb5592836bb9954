"""`exam-server kiosk ...` and `exam-server sweep`: kiosk tokens and the automatic-submission sweep."""

from __future__ import annotations

import logging
import time

import click
from flask.cli import with_appcontext

from exam_server.extensions import db
from exam_server.models import County, DomainError
from exam_server.services.exam import kiosks, sittings

log = logging.getLogger(__name__)


@click.group("kiosk")
def kiosk() -> None:
    """Register and disable exam kiosks."""


@kiosk.command("register")
@click.argument("name")
@click.option("--location", default="", help="where the kiosk stands")
@click.option("--county", "county_code", help="county code the kiosk belongs to")
@with_appcontext
def register_kiosk(name: str, location: str, county_code: str | None) -> None:
    """Register kiosk NAME and print its device token (shown this once only)."""
    county = db.session.query(County).filter_by(code=county_code).one_or_none() if county_code else None
    if county_code and county is None:
        raise click.ClickException(f"unknown county code {county_code}")
    try:
        created, token = kiosks.register(db.session, name, location=location, county_id=county.id if county else None)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"registered kiosk {created.name} (id {created.id})")
    click.echo(f"token (shown once; configure the kiosk with it): {token}")


@kiosk.command("disable")
@click.argument("name")
@with_appcontext
def disable_kiosk(name: str) -> None:
    """Disable kiosk NAME: its token stops working at once."""
    try:
        found = kiosks.by_name(db.session, name)
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    kiosks.set_enabled(db.session, found, False)
    db.session.commit()
    click.echo(f"disabled kiosk {found.name}")


@click.command("sweep")
@click.option(
    "--every", type=float, default=None, metavar="SECONDS", help="keep sweeping at this interval instead of once"
)
@with_appcontext
def sweep(every: float | None) -> None:
    """Auto-submit overdue sittings, expire check-ins and record missed captures."""
    while True:
        try:
            counts = sittings.sweep(db.session)
            click.echo(", ".join(f"{name} {value}" for name, value in counts.items()))
        except Exception:
            db.session.rollback()
            if every is None:
                raise
            log.exception("sweep failed; trying again in %s s", every)
        if every is None:
            return
        time.sleep(every)
