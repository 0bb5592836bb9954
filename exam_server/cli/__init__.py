"""The ``exam-server`` command line (exam_server/cli/main.py); the same commands also hang off ``flask --app``."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    """Attach the project's commands to the app's own CLI group, for ``flask --app exam_server ...``."""
    from exam_server.cli.commands import project_commands

    for command in project_commands():
        app.cli.add_command(command)
