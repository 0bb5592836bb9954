"""Practice by category: one question at a time, immediate feedback, every answer stored once; the book."""

from __future__ import annotations

import re

from sqlalchemy import event, func, select, update

import question_bank as qb
from exam_server.models import PracticeAnswer, Question, utcnow
from exam_server.services.practice import drills
from question_bank.model import LETTERS


def _question_form(html: str) -> dict:
    fields = dict(re.findall(r'name="(code|seed|mode|key)" value="([^"]*)"', html))
    assert set(fields) == {"code", "seed", "mode", "key"}, html[:2000]
    return fields


def _answer_letters(db, worker, fields: dict, right: bool) -> str:
    drawn = drills.shown_again(db.session, worker, fields["code"], int(fields["seed"]), fields["mode"])
    if right:
        return drawn.item.answer
    return next(letter for letter in LETTERS[: len(drawn.item.options)] if letter not in drawn.item.answer)


def _answer(client, db, worker, fields: dict, right: bool):
    letters = _answer_letters(db, worker, fields, right)
    return client.post("/worker/practice/answer", data={**fields, "choice": list(letters)})


def test_home_lists_the_categories_of_the_workers_job_and_says_what_to_do(db, workers, sign_in):
    worker, _ = workers
    client = sign_in(worker)
    html = client.get("/worker/").get_data(as_text=True)
    names = [c.name for c in drills.categories(db.session, worker)]
    assert names and all(name in html for name in names)
    assert "下一步" in html and worker.name in html


def test_a_question_then_feedback_with_the_right_answer_and_basis(db, workers, sign_in):
    worker, _ = workers
    client = sign_in(worker)
    category = drills.categories(db.session, worker)[0].name
    page = client.get("/worker/practice/question", query_string={"category": category})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "提交答案" in html
    fields = _question_form(html)
    assert fields["mode"] == "category"
    row = db.session.scalar(select(Question).where(Question.code == fields["code"]))
    assert row.category == category and row.stem in html
    assert row.answer not in re.findall(r"answer[^>]*>([A-F]+)<", html)  # nothing of the answer before answering
    result = _answer(client, db, worker, fields, right=False)
    body = result.get_data(as_text=True)
    assert result.status_code == 200 and "回答错误" in body and row.basis in body
    presented = drills.shown_again(db.session, worker, fields["code"], int(fields["seed"]), "category").item
    assert f'<b class="answer-letters">{presented.answer}</b>' in body
    stored = db.session.scalars(select(PracticeAnswer).where(PracticeAnswer.worker_id == worker.id)).one()
    assert stored.correct is False and stored.question_id == row.id and stored.category == category
    assert stored.response != row.answer  # stored in the question's own letters


def test_the_same_answer_sent_twice_is_stored_once(db, workers, sign_in):
    worker, _ = workers
    client = sign_in(worker)
    category = drills.categories(db.session, worker)[0].name
    fields = _question_form(
        client.get("/worker/practice/question", query_string={"category": category}).get_data(as_text=True)
    )
    first = _answer(client, db, worker, fields, right=True)
    again = client.post(
        "/worker/practice/answer", data={**fields, "choice": list(_answer_letters(db, worker, fields, False))}
    )
    assert "回答正确" in first.get_data(as_text=True)
    assert "回答正确" in again.get_data(as_text=True)  # the first answer stands for this key
    assert db.session.scalar(select(func.count(PracticeAnswer.id))) == 1


def test_an_empty_or_foreign_answer_is_refused_with_a_message(db, workers, sign_in):
    worker, _ = workers
    client = sign_in(worker)
    category = drills.categories(db.session, worker)[0].name
    fields = _question_form(
        client.get("/worker/practice/question", query_string={"category": category}).get_data(as_text=True)
    )
    empty = client.post("/worker/practice/answer", data=fields)
    assert empty.status_code == 422 and "请先选择答案" in empty.get_data(as_text=True)
    bad_seed = client.post("/worker/practice/answer", data={**fields, "seed": "x", "choice": "A"})
    assert bad_seed.status_code == 302
    unknown = client.get("/worker/practice/question", query_string={"category": "不存在的分类"})
    assert unknown.status_code == 302
    assert db.session.scalar(select(func.count(PracticeAnswer.id))) == 0


def test_a_wrong_answer_stays_in_the_book_until_answered_right_twice(db, workers, sign_in):
    worker, _ = workers
    client = sign_in(worker)
    category = drills.categories(db.session, worker)[0].name
    fields = _question_form(
        client.get("/worker/practice/question", query_string={"category": category}).get_data(as_text=True)
    )
    _answer(client, db, worker, fields, right=False)
    assert [e.code for e in drills.book(db.session, worker)] == [fields["code"]]
    book_page = client.get("/worker/book").get_data(as_text=True)
    assert "还需答对 2 次" in book_page

    def from_book(right: bool) -> str:
        html = client.get("/worker/book/question").get_data(as_text=True)
        again = _question_form(html)
        assert again["code"] == fields["code"] and again["mode"] == "book"
        return _answer(client, db, worker, again, right).get_data(as_text=True)

    assert "再答对 1 次" in from_book(True)
    assert "再答对 2 次" in from_book(False)  # a new mistake starts the count again
    from_book(True)
    assert "已移出错题本" in from_book(True)
    assert drills.book(db.session, worker) == []
    assert client.get("/worker/book/question").status_code == 302


def test_a_question_answered_right_is_not_drawn_again_while_others_remain(db, workers):
    worker, _ = workers
    category = drills.categories(db.session, worker)[0]
    seen = set()
    for _ in range(category.questions):
        drawn = drills.draw(db.session, worker, category.name)
        assert drawn.item.code not in seen
        seen.add(drawn.item.code)
        drills.answer(db.session, worker, drawn, drawn.item.answer, drawn.key)
    assert len(seen) == category.questions


def test_an_answer_costs_a_few_statements_and_the_bank_is_read_once_per_transaction(db, workers, sign_in):
    """The evening peak is 2,000 workers answering: an answer must not grow round trips (bench_practice_load)."""
    worker, _ = workers
    client = sign_in(worker)
    category = drills.categories(db.session, worker)[0].name
    fields = _question_form(
        client.get("/worker/practice/question", query_string={"category": category}).get_data(as_text=True)
    )
    letters = _answer_letters(db, worker, fields, right=False)
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.post("/worker/practice/answer", data={**fields, "choice": list(letters)})
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert "回答错误" in response.get_data(as_text=True)
    bank_checks = [s for s in statements if "max(question.updated_at)" in s.lower()]
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO PRACTICE_ANSWER")]
    assert len(bank_checks) == 1, statements
    assert len(inserts) == 1 and "ON CONFLICT" in inserts[0].upper(), statements
    # The session's check reads the bank's state too; then the insert and the answer's book state.
    assert "worker_credential" in bank_checks[0].lower() and len(statements) == 3, statements


def test_a_question_page_costs_two_statements(db, workers, sign_in):
    """The worker's session with the bank's state, then their right answers of the category: nothing else."""
    worker, _ = workers
    client = sign_in(worker)
    category = drills.categories(db.session, worker)[0].name
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        page = client.get("/worker/practice/question", query_string={"category": category})
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert page.status_code == 200 and "提交答案" in page.text
    assert len(statements) == 2 and "max(question.updated_at)" in statements[0].lower(), statements


def test_a_question_retired_between_two_answers_is_no_longer_drawn(db, workers):
    """The bank read once per transaction still sees a change committed before the next one."""
    worker, _ = workers
    category = drills.categories(db.session, worker)[0].name
    drawn = drills.draw(db.session, worker, category)
    db.session.commit()
    row = db.session.scalar(select(Question).where(Question.code == drawn.item.code))
    row.status = "retired"
    db.session.commit()
    codes = {drills.draw(db.session, worker, category).item.code for _ in range(40)}
    assert drawn.item.code not in codes


def test_a_question_retired_between_two_pages_is_no_longer_shown(db, workers, sign_in):
    """The bank's state read with the worker's session sees a change committed before the page."""
    worker, _ = workers
    client = sign_in(worker)
    category = drills.categories(db.session, worker)[0].name

    def shown() -> str:
        page = client.get("/worker/practice/question", query_string={"category": category})
        return _question_form(page.get_data(as_text=True))["code"]

    first = shown()
    bank, _ = drills.practice_bank(db.session)
    industry, job = worker.enterprise.industry.code, worker.job_category.value
    kept = next(
        q.code for q in bank.questions if q.category == category and q.code != first and qb.eligible(q, industry, job)
    )
    db.session.commit()
    retired = update(Question).where(Question.category == category, Question.code != kept)
    db.session.execute(retired.values(status="retired", updated_at=utcnow()))
    db.session.commit()
    assert {shown() for _ in range(5)} == {kept}
