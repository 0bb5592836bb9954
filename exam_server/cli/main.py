"""Entry point of the ``exam-server`` console script.

A plain click group, not Flask's: listing the commands, every ``--help`` and the face engine's own
commands (``face verify|calibrate|evaluate``) need no configuration. Only a command that serves or
touches the database builds the app (``flask.cli.with_appcontext`` through the ScriptInfo below),
and only then are EXAM_SECRET_KEY and the database required.
"""

from __future__ import annotations

import sys

import click
from flask.cli import ScriptInfo, routes_command, run_command, shell_command
from flask_migrate.cli import db as migrate_db
from sqlalchemy.exc import OperationalError

from exam_server.cli.commands import project_commands
from exam_server.cli.demo import demo
from exam_server.config import ConfigError


def _create_app():
    from exam_server import create_app

    return create_app()


@click.group(help="Face-verified safety-training exam server.")
@click.pass_context
def cli(ctx: click.Context) -> None:
    # with_appcontext finds this ScriptInfo and builds the app only for the command that needs it.
    ctx.obj = ScriptInfo(create_app=_create_app, set_debug_flag=False)


class _SubcommandHelpWithoutApp(click.Group):
    """A group whose own callback builds the app (flask-migrate's `db`): `db upgrade --help` must not need it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)  # what follows the subcommand's name, a tail of args
        if "--help" in rest:
            ctx.meta["exam_server.help_for"] = args[len(args) - len(rest) - 1]
        return rest

    def invoke(self, ctx: click.Context) -> object:
        if "exam_server.help_for" in ctx.meta:
            name, command, _ = self.resolve_command(ctx, [ctx.meta["exam_server.help_for"]])
            if command is not None and name is not None:
                command.make_context(name, list(ctx.args), parent=ctx)  # prints the help and exits
        return super().invoke(ctx)


db_command = _SubcommandHelpWithoutApp(
    migrate_db.name,
    commands=dict(migrate_db.commands),
    params=list(migrate_db.params),
    callback=migrate_db.callback,
    help=migrate_db.help,
)

for command in (*project_commands(), demo, db_command, run_command, shell_command, routes_command):
    cli.add_command(command)


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
