"""The ``exam-server`` command line: a Flask CLI group with the project's commands."""
from __future__ import annotations

from flask import Flask

from exam_server.cli import admin


def register(app: Flask) -> None:
    """Attach the project's commands to the app's CLI group."""
    app.cli.add_command(admin.init_db)
    app.cli.add_command(admin.create_admin)
    try:
        from exam_server.face.cli import face
    except ImportError:  # face engine not installed in this environment
        return
    app.cli.add_command(face)
