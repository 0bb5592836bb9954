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


def open_exam(app, ruleset: dict | None = None, review_answers: bool = False) -> tuple[str, int, dict, str]:
    """Register a kiosk and open a sitting for a worker; return (token, sitting id, paper, another worker's ID)."""
    from exam_server.extensions import db
    from exam_server.models import ExamRequirement
    from exam_server.services.exam import kiosks, question_store

    with app.app_context():
        question_store.load_bundled(db.session)
        world = factories.World.build(db.session)
        plan = add_plan(db.session, world.workers_a, ruleset=ruleset)
        plan.review_answers = review_answers
        worker = world.workers_a[0]
        requirement = db.session.query(ExamRequirement).filter_by(plan_id=plan.id, worker_id=worker.id).one()
        kiosk, token = kiosks.register(db.session, "单元测试终端")
        db.session.commit()
        sitting = open_sitting(db, Exam(worker, plan, requirement, world), kiosk.id)
        return token, sitting.id, sitting.paper, world.workers_a[1].citizen_id


def graded_results(app, api) -> tuple[dict, dict]:
    """Sit the plan twice more through the API (two workers): one passes with two wrong, one fails; return results."""
    from sqlalchemy import select

    from exam_server.extensions import db
    from exam_server.models import ExamPlan, ExamRequirement, Kiosk, Sitting, Worker

    results = []
    with app.app_context():
        plan = db.session.scalars(select(ExamPlan)).first()
        kiosk_id = db.session.scalars(select(Kiosk.id)).first()
        busy = set(db.session.scalars(select(Sitting.worker_id)))
        requirements = [
            r
            for r in db.session.scalars(select(ExamRequirement).where(ExamRequirement.plan_id == plan.id))
            if r.worker_id not in busy
        ][:2]
        opened = []
        for requirement in requirements:
            worker = db.session.get(Worker, requirement.worker_id)
            sitting = open_sitting(db, Exam(worker, plan, requirement, None), kiosk_id)
            opened.append(
                (
                    sitting.id,
                    [(item["number"], item["answer"], len(item["options"])) for item in sitting.paper["items"]],
                )
            )
    # The first worker misses items 3 and 4 and passes; the second gets only item 1 right and fails.
    for (sitting_id, items), wrong in zip(opened, (lambda n: n in (3, 4), lambda n: n > 1), strict=True):
        for number, right, options in items:
            response = next(c for c in "ABCDEF"[:options] if c != right) if wrong(number) else right
            api.save_answer(sitting_id, number, response, f"k{sitting_id}-{number}")
        results.append(api.submit(sitting_id, f"s{sitting_id}"))
    return results[0], results[1]
