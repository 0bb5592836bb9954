"""Commands that prepare the database and its first administrator."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from flask_migrate import upgrade

from exam_server.extensions import db
from exam_server.models import County, DomainError, Enterprise, Role
from exam_server.services import audit
from exam_server.services.admin import accounts
from exam_server.services.admin.user_admin import generate_password


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Create or upgrade the database schema to the latest migration."""
    upgrade()
    click.echo("database is at the latest schema")


@click.command("create-admin")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.CITY.value,
    show_default=True,
    help="console role",
)
@click.option(
    "--county", "county_code", help="county code (a county administrator's; a reviewer's scope, none: city-wide)"
)
@click.option("--enterprise", "credit_code", help="enterprise credit code (for an enterprise manager)")
@click.option(
    "--password",
    envvar="EXAM_ADMIN_PASSWORD",
    help="password (default: generate one and print it); also read from EXAM_ADMIN_PASSWORD",
)
@with_appcontext
def create_admin(
    username: str, role: str, county_code: str | None, credit_code: str | None, password: str | None
) -> None:
    """Create a console user and print its login."""
    county = db.session.query(County).filter_by(code=county_code).one_or_none() if county_code else None
    enterprise = db.session.query(Enterprise).filter_by(credit_code=credit_code).one_or_none() if credit_code else None
    if county_code and county is None:
        raise click.ClickException(f"unknown county code {county_code}")
    if credit_code and enterprise is None:
        raise click.ClickException(f"unknown enterprise credit code {credit_code}")
    shown = password or generate_password()
    try:
        user = accounts.create_user(db.session, username, shown, role, county=county, enterprise=enterprise)
    except (DomainError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    audit.record(db.session, "user_created", target=user, detail={"role": role, "via": "cli"})
    db.session.commit()
    click.echo(f"created {role} user {username}" + ("" if password else f" with password {shown}"))
