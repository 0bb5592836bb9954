"""Exam-only questions: set on the console's edit form, drawn for papers, never shown in practice."""

from __future__ import annotations

from sqlalchemy import func, select

import question_bank as qb
from exam_server.models import PracticeAnswer, Question
from exam_server.services.exam import question_store
from exam_server.services.practice import drills
from tests.console.test_questions import edit_form


def test_the_console_edit_form_sets_and_clears_exam_only(db, world, login, bank):
    row = db.session.scalars(select(Question).order_by(Question.code)).first()
    city = login(world.city)
    page = city.get(f"/console/questions/{row.id}").get_data(as_text=True)
    assert 'name="exam_only"' in page and "仅用于正式考试" in page
    assert city.post(f"/console/questions/{row.id}", data=edit_form(row, exam_only="y")).status_code == 302
    db.session.refresh(row)
    assert row.exam_only is True and row.version == 2
    assert question_store.to_question(row).exam_only is True
    assert city.post(f"/console/questions/{row.id}", data=edit_form(row)).status_code == 302
    db.session.refresh(row)
    assert row.exam_only is False and row.version == 3


def _mark_half_exam_only(db) -> set[str]:
    rows = db.session.scalars(select(Question).order_by(Question.code)).all()
    for n, row in enumerate(rows):
        row.exam_only = n % 2 == 0
    db.session.commit()
    return {row.code for row in rows if row.exam_only}


def test_practice_never_draws_an_exam_only_question_over_the_whole_bank(db, workers):
    worker, _ = workers
    exam_only = _mark_half_exam_only(db)
    practice, _ = drills.practice_bank(db.session)
    assert practice.questions and not {q.code for q in practice.questions} & exam_only
    for category in drills.categories(db.session, worker):
        seen = set()
        for _ in range(category.questions):  # answered right, so each draw takes a question not seen yet
            drawn = drills.draw(db.session, worker, category.name)
            seen.add(drawn.item.code)
            drills.answer(db.session, worker, drawn, drawn.item.answer, drawn.key)
        assert not seen & exam_only, category.name
        assert len(seen) == category.questions  # every practice question of the category was reachable
    # Papers still draw from the whole bank, exam-only questions included.
    full, _ = question_store.bank(db.session)
    ruleset = qb.RuleSet.from_dict(question_store.default_ruleset())
    drawn_for_papers = {item.code for seed in range(30) for item in qb.assemble(full, ruleset, seed).items}
    assert drawn_for_papers & exam_only


def test_an_exam_only_question_posted_by_hand_is_refused_and_reveals_nothing(db, workers, sign_in):
    worker, _ = workers
    exam_only = _mark_half_exam_only(db)
    row = db.session.scalars(select(Question).where(Question.code.in_(exam_only)).order_by(Question.code)).first()
    client = sign_in(worker)
    response = client.post(
        "/worker/practice/answer",
        data={"code": row.code, "seed": "1", "mode": "category", "key": "k" * 32, "choice": "A"},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "不在您的练习范围内" in html and row.stem not in html and row.basis not in html
    assert db.session.scalar(select(func.count(PracticeAnswer.id))) == 0


def test_a_question_made_exam_only_leaves_the_wrong_answer_book(db, workers):
    worker, _ = workers
    category = drills.categories(db.session, worker)[0].name
    drawn = drills.draw(db.session, worker, category)
    wrong = next(c for c in "ABCDEF"[: len(drawn.item.options)] if c not in drawn.item.answer)
    drills.answer(db.session, worker, drawn, wrong, drawn.key)
    assert [e.code for e in drills.book(db.session, worker)] == [drawn.item.code]
    db.session.scalars(select(Question).where(Question.code == drawn.item.code)).one().exam_only = True
    db.session.commit()
    assert drills.book(db.session, worker) == []


def test_reloading_the_bundled_bank_keeps_the_exam_only_flags(db, bank):
    exam_only = _mark_half_exam_only(db)
    first = db.session.scalars(select(Question).order_by(Question.code)).first()
    first.stem = first.stem + "（已改）"  # a changed row is rewritten from the bundle, its flag still kept
    db.session.commit()
    added, updated = question_store.load_bundled(db.session)
    db.session.commit()
    assert added == 0 and updated == 1
    db.session.refresh(first)
    assert not first.stem.endswith("（已改）")
    assert set(db.session.scalars(select(Question.code).where(Question.exam_only))) == exam_only
    assert question_store.load_bundled(db.session) == (0, 0)
