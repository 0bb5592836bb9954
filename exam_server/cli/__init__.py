"""The ``exam-server`` command line: a Flask CLI group with the project's commands."""

from __future__ import annotations

from flask import Flask

from exam_server.cli import admin, jobs, kiosk, notify, worker


def register(app: Flask) -> None:
    """Attach the project's commands to the app's CLI group."""
    app.cli.add_command(admin.init_db)
    app.cli.add_command(admin.create_admin)
    app.cli.add_command(kiosk.kiosk)
    app.cli.add_command(kiosk.sweep)
    app.cli.add_command(notify.notify)
    app.cli.add_command(notify.certificates)
    app.cli.add_command(worker.worker)
    app.cli.add_command(jobs.jobs)
    try:
        from exam_server.cli import face_db
        from exam_server.face.cli import face
    except ImportError:  # face engine not installed in this environment
        return
    face.add_command(face_db.enroll_batch)
    face.add_command(face_db.purge_evidence)
    face.add_command(face_db.reenrol)
    app.cli.add_command(face)
