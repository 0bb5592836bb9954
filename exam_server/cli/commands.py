"""The project's commands, gathered once for ``exam-server`` (cli/main.py) and for the app's own ``flask`` group."""

from __future__ import annotations

import click

from exam_server.cli import admin, jobs, kiosk, notify, worker


def face_group() -> click.Group | None:
    """Return `face`: the engine's commands (no app needed) and the database ones; None without the face engine."""
    try:
        from exam_server.cli import face_db
        from exam_server.face.cli import face
    except ImportError:  # face engine not installed in this environment
        return None
    group = click.Group(face.name, help=face.help, commands=dict(face.commands))
    for command in face_db.COMMANDS:
        group.add_command(command)
    return group


def project_commands() -> list[click.Command]:
    """Return every project command but `demo` (which builds its own app)."""
    face = face_group()
    return [
        admin.init_db,
        admin.create_admin,
        kiosk.kiosk,
        kiosk.sweep,
        notify.notify,
        notify.certificates,
        worker.worker,
        jobs.jobs,
        *([face] if face is not None else []),
    ]
