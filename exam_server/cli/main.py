"""Entry point of the ``exam-server`` console script."""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup
from sqlalchemy.exc import OperationalError

from exam_server import create_app
from exam_server.cli.demo import demo
from exam_server.config import ConfigError


def _create_app():
    return create_app()


cli = FlaskGroup(create_app=_create_app, help="Face-verified safety-training exam server.")
cli.add_command(demo)


def main() -> None:
    """Run the CLI, turning configuration and database failures into one readable line."""
    try:
        cli.main(prog_name="exam-server")
    except ConfigError as exc:
        click.echo(f"exam-server: configuration error: {exc}", err=True)
        sys.exit(2)
    except OperationalError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        click.echo(f"exam-server: cannot open the database: {reason}", err=True)
        sys.exit(2)
