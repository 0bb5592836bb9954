"""The console's practice page: a manager's own workers' figures, right to the answer, and nobody else's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from exam_server.citizen_id import mask
from exam_server.models import MockExam, PracticeAnswer, Question, Worker
from exam_server.services.practice import drills, overview
from question_bank import eligible
from tests import factories

DAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _eligible_rows(db, worker: Worker, n: int) -> list[Question]:
    """Return n active questions practice may show the worker."""
    bank, _ = drills.practice_bank(db.session)
    industry, job = worker.enterprise.industry.code, worker.job_category.value
    codes = [q.code for q in bank.questions if eligible(q, industry, job)][:n]
    rows = db.session.scalars(select(Question).where(Question.code.in_(codes))).all()
    return sorted(rows, key=lambda r: codes.index(r.code))


def _answers(db, worker: Worker, plan: list[tuple[Question, bool]]) -> None:
    """Store the worker's practice answers in this order, one minute apart from DAY."""
    for n, (question, correct) in enumerate(plan):
        db.session.add(
            PracticeAnswer(
                worker_id=worker.id,
                question_id=question.id,
                question_version=question.version,
                category=question.category,
                mode=drills.CATEGORY,
                response="A",
                correct=correct,
                idempotency_key=f"fixture-{worker.id}-{n}",
                answered_at=DAY + timedelta(minutes=n),
            )
        )
        db.session.flush()  # ids follow the order: the book's rule reads "after the last wrong one" by id


def _mock(db, worker: Worker, score: float | None) -> None:
    db.session.add(
        MockExam(
            worker_id=worker.id,
            title="模拟",
            paper={"items": []},
            responses={},
            started_at=DAY,
            deadline_at=DAY + timedelta(hours=1),
            submitted_at=DAY + timedelta(minutes=30) if score is not None else None,
            score=score,
            max_score=100 if score is not None else None,
        )
    )


@pytest.fixture()
def practised(db, world, bank):
    """Worker A0 with a known practice record, A1 with none, B0 (another county) with some."""
    a0, b0 = world.workers_a[0], world.workers_b[0]
    q1, q2, q3, q4, q5 = _eligible_rows(db, a0, 5)
    _answers(
        db,
        a0,
        [
            (q1, False),
            (q2, False),
            (q1, True),
            (q3, True),
            (q1, True),  # q1: right twice after its last wrong answer, out of the book
            (q2, True),  # q2: right once, still in the book
            (q4, True),
            (q4, False),  # q4: wrong after a right answer, in the book
            (q5, False),  # q5: made exam-only below, so no longer in the book
        ],
    )
    q5.exam_only = True
    _mock(db, a0, 60)
    _mock(db, a0, 85)
    _mock(db, a0, None)  # started, never handed in: not taken
    _answers(db, b0, [(q1, False), (q2, True)])
    _mock(db, b0, 95)
    db.session.commit()
    return a0, world.workers_a[1], b0


def test_the_figures_follow_the_answers_and_the_books_rule(db, practised):
    a0, a1, _ = practised
    found = overview.figures(db.session, [a0.id, a1.id])
    assert found[a0.id] == overview.Figures(
        questions=5,
        answers=9,
        right=5,
        open_in_book=2,
        mocks=2,
        best_mock=85,
        last_practised=DAY + timedelta(minutes=8),
    )
    assert found[a0.id].open_in_book == len(drills.book(db.session, a0))  # the worker's own book agrees
    assert found[a1.id] == overview.Figures() and found[a1.id].right_share is None
    assert overview.figures(db.session, []) == {}


def test_the_manager_sees_their_workers_practice_and_never_another_tenants(db, world, login, practised):
    a0, a1, b0 = practised
    manager = login(world.enterprise_admin_a)
    page = manager.get("/console/workers/practice").get_data(as_text=True)
    assert "练习情况" in page and a0.name in page and a1.name in page
    assert mask(a0.citizen_id) in page and a0.citizen_id not in page
    row = page.split(f'data-worker="{a0.id}"')[1].split("</tr>")[0]
    cells = [c.split("</td>")[0].strip() for c in row.split('<td class="num">')[1:]]
    assert cells == ["5", "9", "56%", "2", "2", "85 分"]
    assert "未练习" in page.split(f'data-worker="{a1.id}"')[1].split("</tr>")[0]
    # Another county's worker is never listed, whatever the query string names.
    for query in ("", f"?enterprise={world.enterprise_b.credit_code}", f"?name={b0.name}", "?practised=yes"):
        shown = manager.get(f"/console/workers/practice{query}").get_data(as_text=True)
        table = shown.split('role="search"')[1].split("</form>", 1)[1]  # the search form echoes the name asked for
        assert b0.name not in table and mask(b0.citizen_id) not in table and f'data-worker="{b0.id}"' not in table
    only_practised = manager.get("/console/workers/practice?practised=yes").get_data(as_text=True)
    assert a0.name in only_practised and a1.name not in only_practised
    detail = manager.get(f"/console/workers/{a0.id}").get_data(as_text=True)
    assert "练习情况" in detail and "错题本未掌握" in detail
    assert manager.get(f"/console/workers/{b0.id}").status_code == 404


def test_the_county_and_the_city_see_within_their_scope_and_a_reviewer_is_refused(db, world, login, practised):
    a0, _, b0 = practised
    county = login(world.county_admin_a).get("/console/workers/practice").get_data(as_text=True)
    assert a0.name in county and b0.name not in county
    city = login(world.city).get("/console/workers/practice").get_data(as_text=True)
    assert a0.name in city and b0.name in city and "95 分" in city
    assert login(world.reviewer).get("/console/workers/practice").status_code == 403


def test_the_page_reads_the_figures_in_one_query_whatever_the_number_of_workers(db, world, login, practised):
    manager = login(world.enterprise_admin_a)

    def statements() -> list[str]:
        seen: list[str] = []

        def count(_conn, _cursor, statement, *_args) -> None:
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert manager.get("/console/workers/practice").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return [s for s in seen if "practice_answer" in s]

    few = statements()
    for _ in range(20):
        factories.worker(db.session, world.enterprise_a)
    db.session.commit()
    many = statements()
    assert len(few) == len(many) == 1, many
