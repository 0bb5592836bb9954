"""The journal and its delivery against the real server app: order, idempotency, outages, restarts."""

from __future__ import annotations

import time

import pytest

from kiosk_client.api import KioskApi, Refusal, ServerUnreachable
from kiosk_client.delivery import Deliverer
from kiosk_client.exam import ExamSession
from kiosk_client.journal import Journal


def wait_until(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture()
def api(live):
    return KioskApi(live.server.url, live.token)


@pytest.fixture()
def journal(tmp_path):
    opened = Journal(tmp_path / "journal.sqlite3")
    yield opened
    opened.close()


def test_ping_token_and_unreachable_server(live, api):
    assert api.ping()["kiosk"]["name"] == "单元测试终端"
    with pytest.raises(Refusal) as refused:
        KioskApi(live.server.url, "not-a-token").ping()
    assert refused.value.status == 401 and refused.value.code == "kiosk_unauthorized"
    live.server.stop()
    try:
        with pytest.raises(ServerUnreachable):
            api.ping()
    finally:
        live.server.start()


def test_the_journal_is_fsynced_and_keeps_answers_across_a_reopen(tmp_path):
    first = Journal(tmp_path / "j.sqlite3")
    assert first.pragma("synchronous") == 2  # FULL
    assert first.pragma("journal_mode") == "wal"
    keys = [first.record_answer(7, 1, "A"), first.record_answer(7, 2, "BD"), first.record_answer(7, 1, "C")]
    assert len(set(keys)) == 3
    first.close()
    again = Journal(tmp_path / "j.sqlite3")
    assert again.answers(7) == {1: "C", 2: "BD"}
    assert again.pending_answers(7) == {1: "C", 2: "BD"}
    assert [e for e in [again.next_pending()] if e][0].idempotency_key == keys[0]  # oldest first
    assert again.record_submit(7) == again.record_submit(7)  # one submission per sitting
    assert again.pending_count(7) == 4


def test_answers_are_delivered_in_order_and_a_repeat_is_stored_once(live, api, journal):
    items = [q["number"] for q in live.paper["items"]][:3]
    for item, response in zip(items, ["A", "B", "a"], strict=False):
        journal.record_answer(live.sitting_id, item, response)
    replies = []
    deliverer = Deliverer(journal, api, lambda entry, body, refusal: replies.append((entry, body, refusal))).start()
    try:
        wait_until(lambda: journal.pending_count() == 0)
    finally:
        deliverer.stop()
    assert [entry.item_no for entry, _, _ in replies] == items
    assert all(refusal is None for _, _, refusal in replies)
    assert api.sitting(live.sitting_id)["answers"] == {str(items[0]): "A", str(items[1]): "B", str(items[2]): "A"}
    # The same message sent again (a reply lost on the way back) changes nothing on the server.
    first = replies[0][0]
    again = api.save_answer(live.sitting_id, first.item_no, first.response, first.idempotency_key)
    assert again["revision"] == replies[0][1]["revision"]


def test_answers_wait_through_an_outage_and_arrive_when_the_server_returns(live, api, journal):
    deliverer = Deliverer(journal, api, lambda *reply: None).start()
    items = [q["number"] for q in live.paper["items"]][:3]
    try:
        live.server.stop()
        for item in items:
            journal.record_answer(live.sitting_id, item, "B")
        deliverer.wake()
        wait_until(lambda: not deliverer.online)
        assert journal.pending_count(live.sitting_id) == 3
        live.server.start()
        wait_until(lambda: journal.pending_count() == 0, timeout=30)
    finally:
        deliverer.stop()
    assert deliverer.online
    assert api.sitting(live.sitting_id)["answers"] == {str(item): "B" for item in items}


def test_a_refused_message_is_recorded_and_does_not_block_the_next(live, api, journal):
    journal.record_answer(live.sitting_id, 999, "A")  # not on the paper
    item = live.paper["items"][0]["number"]
    journal.record_answer(live.sitting_id, item, "A")
    deliverer = Deliverer(journal, api, lambda *reply: None).start()
    try:
        wait_until(lambda: journal.pending_count() == 0)
    finally:
        deliverer.stop()
    assert journal.outcomes(live.sitting_id) == [
        ("answer", 999, "A", "question_not_on_paper"),
        ("answer", item, "A", "ok"),
    ]


def test_a_restarted_kiosk_resumes_the_sitting_from_the_journal(live, api, tmp_path):
    sitting = api.sitting(live.sitting_id)
    journal = Journal(tmp_path / "resume.sqlite3")
    session = ExamSession.open(journal, sitting, {"name_masked": "张*"}, {"name": "考试"})
    session.answer(sitting["questions"][1]["item_no"], "ca")
    session.go(1)
    journal.close()

    reopened = Journal(tmp_path / "resume.sqlite3")
    resumed = ExamSession.resume(reopened)
    assert resumed.id == live.sitting_id and resumed.questions == sitting["questions"]
    assert resumed.answers == {sitting["questions"][1]["item_no"]: "AC"}
    assert resumed.state["current"] == 1
    assert 0 < resumed.remaining_seconds() <= sitting["remaining_seconds"]
    # The server never saw that answer: reading its answers back must not lose the local one.
    resumed.adopt_server_answers({})
    assert resumed.answers == {sitting["questions"][1]["item_no"]: "AC"}
    reopened.close()


def test_face_work_goes_to_the_face_pool_and_answers_to_the_server(live):
    """Send bursts and captures to --face-server and everything else to --server, each surviving the other's outage."""
    from tests.kiosk.live import ThreadServer

    face_pool = ThreadServer(live.server.app).start()  # the same application, as a second gunicorn would run it
    api = KioskApi(live.server.url, live.token, face_url=face_pool.url)
    live.server.stop()
    with pytest.raises(ServerUnreachable):
        api.save_answer(live.sitting_id, 1, "A", "key-1")
    with pytest.raises(Refusal) as refused:  # answered by the face pool although the main server is down
        api.capture(live.sitting_id, "no-such-nonce", b"\xff\xd8 not a frame")
    assert refused.value.code == "nonce_invalid"
    live.server.start()
    face_pool.stop()
    with pytest.raises(ServerUnreachable):
        api.capture(live.sitting_id, "no-such-nonce", b"\xff\xd8 not a frame")
    assert api.save_answer(live.sitting_id, 1, "A", "key-1")["item_no"] == 1


def test_a_busy_face_pool_gets_the_same_burst_again_after_the_wait_it_asked_for(live, monkeypatch):
    from exam_server.api.admission import face_queue
    from kiosk_client.api import Busy, patiently

    queue = face_queue(live.server.app)
    monkeypatch.setattr(queue, "max_wait", -1.0)  # the pool turns every burst away
    api = KioskApi(live.server.url, live.token)
    sent, shown, slept = [], [], []

    def send():
        sent.append(1)
        return api.send_burst(2147483647, "token", [b"\xff\xd8 frame"] * 4)

    def sleep(seconds):  # the queue drains while the kiosk waits
        slept.append(seconds)
        queue.max_wait = 20.0

    with pytest.raises(Refusal) as answered:
        patiently(send, shown.append, sleep=sleep)
    assert answered.value.code == "checkin_not_found"  # the second try reached the check-in itself
    assert len(sent) == 2 and shown == slept
    assert 5.0 <= slept[0] <= 7.5  # the server's retry_after (5 s), plus up to half again of jitter

    queue.max_wait = -1.0
    with pytest.raises(Busy) as still_busy:  # patience runs out: the worker is told to try again later
        patiently(send, shown.append, patience=0.5, sleep=lambda s: None)
    assert still_busy.value.retry_after == 5 and "自动重试" in still_busy.value.message


def test_answers_delivered_while_the_servers_copy_is_read_stay_on_the_answer_card(tmp_path):
    """The one-time read after a check-in must not drop answers that reached the server during the read."""
    journal = Journal(tmp_path / "journal.sqlite3")
    sitting = {
        "id": 7,
        "questions": [{"item_no": n} for n in (1, 2, 3)],
        "deadline_at": "2030-01-01T00:00:00+00:00",
        "remaining_seconds": 3600,
        "server_time": "2026-12-06T12:00:00+00:00",
    }
    session = ExamSession.open(journal, sitting, {"name_masked": "张*"}, {"name": "考试"})
    session.answer(1, "A")
    journal.finish(journal.next_pending().seq, "ok")  # delivered before the read: the server's copy has it
    reading = time.time()
    session.answer(2, "B")
    session.answer(3, "C")
    journal.finish(journal.next_pending().seq, "ok")  # item 2 delivered during the read, missing from the copy
    server_copy = {"1": "A"}
    session.adopt_server_answers(server_copy, read_since=reading)
    assert session.answers == {1: "A", 2: "B", 3: "C"}
    # Without the time of the read, only the undelivered answer survives (what the card showed before the fix).
    session.adopt_server_answers(server_copy)
    assert session.answers == {1: "A", 3: "C"}
    journal.close()
