"""The graded result teaches the worker: wrong answers with the right ones (when the plan allows), weak categories."""

from __future__ import annotations

from datetime import datetime

from exam_server.models import Sitting
from tests.api.conftest import CONSENT, correct_response, open_sitting


def _wrong(sitting: Sitting, item_no: int) -> str:
    right = correct_response(sitting, item_no)
    item = sitting.paper["items"][item_no - 1]
    return next(letter for letter in "ABCDEF"[: len(item["options"])] if letter != right)


def _sit(db, exam, kiosk, wrong_items: set[int]) -> dict:
    sitting = open_sitting(db, exam, kiosk.id)
    for item in sitting.paper["items"]:
        number = item["number"]
        response = _wrong(sitting, number) if number in wrong_items else correct_response(sitting, number)
        saved = kiosk.put(
            f"/api/v1/sittings/{sitting.id}/answers/{number}",
            json={"response": response, "idempotency_key": f"{number}"},
        )
        assert saved.status_code == 200, saved.get_json()
    submitted = kiosk.post(f"/api/v1/sittings/{sitting.id}/submit", json={"idempotency_key": "s"})
    assert submitted.status_code == 200, submitted.get_json()
    return submitted.get_json() | {"sitting": sitting}


def test_a_plan_that_shows_answers_lists_each_wrong_one_with_the_right_one_and_its_basis(db, exam, kiosk):
    exam.plan.review_answers = True
    db.session.commit()
    result = _sit(db, exam, kiosk, wrong_items={1, 6})
    sitting = result.pop("sitting")
    assert result["passed"] is True and result["retake"] is None and result["certificate"]["verify_url"]
    assert [r["item_no"] for r in result["review"]] == [1, 6]
    first = result["review"][0]
    stored = sitting.paper["items"][0]
    assert first["answer"] == stored["answer"] and first["response"] != stored["answer"] and first["response"]
    assert first["stem"] == stored["stem"] and first["basis"] == stored["basis"] and first["basis"]
    assert [o["text"] for o in first["options"]] == stored["options"]
    # The category of the two wrong items comes first; full marks elsewhere.
    weakest = result["categories"][0]
    assert weakest["correct"] < weakest["total"] and weakest["score"] < weakest["max_score"]
    assert sum(c["total"] for c in result["categories"]) == len(sitting.paper["items"])
    assert all(c["correct"] == c["total"] for c in result["categories"][2:])


def test_a_plan_that_keeps_its_answers_shows_none_and_a_failed_worker_learns_when_to_come_back(db, exam, kiosk):
    result = _sit(db, exam, kiosk, wrong_items=set(range(1, 9)))
    sitting = result.pop("sitting")
    assert result["passed"] is False and result["review"] is None and result["certificate"] is None
    assert result["retake"]["attempts_left"] == 1
    opens = datetime.fromisoformat(result["retake"]["opens_at"])
    assert (
        opens <= datetime.fromisoformat(result["server_time"]) < datetime.fromisoformat(result["retake"]["closes_at"])
    )
    assert all(c["correct"] == 0 for c in result["categories"])
    # The same result is read back with the sitting (a kiosk restarted after submission).
    again = kiosk.get(f"/api/v1/sittings/{sitting.id}").get_json()["result"]
    assert again["retake"] == result["retake"] and again["categories"] == result["categories"]


def test_the_consent_notice_tells_the_servers_retention(app, kiosk):
    notice = kiosk.get("/api/v1/consent-notice")
    assert notice.status_code == 200 and notice.get_json() == {"retention_days": app.config["EVIDENCE_RETENTION_DAYS"]}
    assert CONSENT["retention_days"] == app.config["EVIDENCE_RETENTION_DAYS"]
