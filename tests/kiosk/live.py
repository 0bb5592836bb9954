"""The real exam server app served in a thread on loopback, with a kiosk token and an open sitting."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import make_server

from tests import factories
from tests.api.conftest import Exam, add_plan, open_sitting


class ThreadServer:
    """Serve a WSGI app on a fixed loopback port; stop and start it again to make an outage."""

    def __init__(self, app, port: int = 0) -> None:
        self.app = app
        self.port = port
        self._server = None

    def start(self) -> ThreadServer:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Live:
    """What a kiosk test needs from the server side."""

    server: ThreadServer
    token: str
    sitting_id: int
    paper: dict
    unenrolled_citizen_id: str


def build_app(tmp: Path):
    from flask_migrate import upgrade

    from exam_server import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "kiosk-test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'exam.db'}",
            "DATA_DIR": str(tmp / "data"),
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
    return app


def open_exam(app) -> tuple[str, int, dict, str]:
    """Register a kiosk and open a sitting for a worker; return (token, sitting id, paper, another worker's ID)."""
    from exam_server.extensions import db
    from exam_server.models import ExamRequirement
    from exam_server.services.exam import kiosks, question_store

    with app.app_context():
        question_store.load_bundled(db.session)
        world = factories.World.build(db.session)
        plan = add_plan(db.session, world.workers_a)
        worker = world.workers_a[0]
        requirement = db.session.query(ExamRequirement).filter_by(plan_id=plan.id, worker_id=worker.id).one()
        kiosk, token = kiosks.register(db.session, "单元测试终端")
        db.session.commit()
        sitting = open_sitting(db, Exam(worker, plan, requirement, world), kiosk.id)
        return token, sitting.id, sitting.paper, world.workers_a[1].citizen_id
