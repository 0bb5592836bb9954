"""The live monitor: JSON of sittings in progress with their latest face check, scoped, 401/403 in JSON."""

from datetime import timedelta

from exam_server.models import CheckKind, Decision, FaceCheck, utcnow
from tests.console_stats.conftest import add_sitting


def check(session, sitting, decision: str, minutes_ago: int, distance: float) -> FaceCheck:
    row = FaceCheck(
        kind=CheckKind.IN_EXAM,
        worker_id=sitting.worker_id,
        sitting_id=sitting.id,
        model_name="dlib",
        model_version="1",
        distance=distance,
        threshold=0.5,
        decision=Decision(decision),
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )
    session.add(row)
    session.flush()
    return row


def live(db, city):
    now = utcnow()
    w4 = add_sitting(db.session, city.requirements["w4"], None, "in_progress", started_at=now - timedelta(minutes=10))
    check(db.session, w4, "match", 8, 0.31)
    check(db.session, w4, "mismatch", 1, 0.72)  # the latest one counts
    w6 = add_sitting(db.session, city.requirements["w6"], None, "suspended", started_at=now - timedelta(minutes=5))
    check(db.session, w6, "mismatch", 2, 0.80)
    w11 = add_sitting(db.session, city.requirements["w11"], None, "in_progress", started_at=now - timedelta(minutes=1))
    db.session.commit()
    return w4, w6, w11


def test_city_sees_every_live_sitting_with_its_face_state(db, city, login):
    w4, w6, w11 = live(db, city)
    data = login(city.users["city"]).get("/console/monitor/live.json").get_json()
    by_id = {s["sitting_id"]: s for s in data["sittings"]}
    assert set(by_id) == {w4.id, w6.id, w11.id}  # submitted and voided sittings are not live
    assert (by_id[w4.id]["face_state"], by_id[w4.id]["distance"]) == ("mismatch", 0.72)
    assert by_id[w6.id]["face_state"] == "suspended" and by_id[w11.id]["face_state"] == "none"
    assert by_id[w4.id]["worker"] == "工人4号" and by_id[w4.id]["enterprise"] == "兰山化工有限公司"
    assert 19 * 60 <= by_id[w4.id]["seconds_left"] <= 20 * 60  # 30 minutes, 10 gone
    counties = {c["name"]: c for c in data["counties"]}
    assert counties["兰山区"]["total"] == 2 and counties["兰山区"]["suspended"] == 1
    assert counties["罗庄区"]["none"] == 1


def test_scope_of_the_monitor(db, city, login):
    w4, w6, w11 = live(db, city)
    county = login(city.users["county_b"]).get("/console/monitor/live.json").get_json()
    assert [s["sitting_id"] for s in county["sittings"]] == [w11.id]
    enterprise = login(city.users["e1"]).get("/console/monitor/live.json").get_json()
    assert [s["sitting_id"] for s in enterprise["sittings"]] == [w4.id]


def test_json_route_answers_401_and_403_in_json(db, city, login, client):
    anonymous = client.get("/console/monitor/live.json")
    assert anonymous.status_code == 401 and anonymous.get_json()["error"] == "unauthorized"
    reviewer = login(city.users["reviewer"]).get("/console/monitor/live.json")
    assert reviewer.status_code == 403 and reviewer.get_json()["error"] == "forbidden"
    fresh = login(city.users["city"]).get("/console/monitor/live.json")
    assert fresh.headers["Cache-Control"] == "private, no-store"


def test_monitor_page_polls_the_json_route(app, db, city, login):
    html = login(city.users["county_a"]).get("/console/monitor").get_data(as_text=True)
    assert 'data-url="/console/monitor/live.json"' in html and "monitor.js" in html
    # Times are drawn on the bureau's clock (EXAM_TIMEZONE) whatever zone the browser's PC is set to.
    assert f'data-zone="{app.config["TIMEZONE"]}"' in html
    js = login(city.users["county_a"]).get("/static/monitor.js").get_data(as_text=True)
    assert "fetch(url" in js and "textContent" in js and "timeZone: zone" in js
