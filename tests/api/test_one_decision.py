"""One decision path: `exam-server face verify` decides as check-in does; the rank check catches a look-alike colleague."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from exam_server.face.cli import face
from exam_server.models import CheckKind, FaceCheck, FacePhoto, PhotoSource, ReviewCase, ReviewKind
from exam_server.services.faces import face_service
from tests.api.conftest import CONSENT, TURN_LEFT, frame

ENROLLED = "single/obama/obama2.jpg"
# The burst's second frame is the 720p copy of this photo: a colleague enrolled with it is nearer to the burst.
LOOK_ALIKE = "resolutions/obama-1080p.jpg"


def send_burst(kiosk, worker, frames: list[bytes]):
    created = kiosk.post("/api/v1/checkins", json={"citizen_id": worker.citizen_id, "consent": CONSENT})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    return kiosk.post(
        f"/api/v1/checkins/{body['checkin_id']}/frames",
        data={
            "checkin_token": body["checkin_token"],
            "frames": [(io.BytesIO(f), f"f{n}.jpg") for n, f in enumerate(frames)],
        },
        content_type="multipart/form-data",
    )


def entry_check(db) -> FaceCheck:
    return db.session.scalars(
        select(FaceCheck).where(FaceCheck.kind == CheckKind.CHECKIN).order_by(FaceCheck.id.desc())
    ).first()


def test_the_cli_decides_exactly_as_the_check_in(db, exam, kiosk, turn_only, faces_dir, tmp_path):
    """The same photos give the same decision, fused distance and per-model distances at the kiosk and on the command line."""
    face_service.enrol(db.session, exam.worker, (faces_dir / ENROLLED).read_bytes(), PhotoSource.CONSOLE)
    db.session.commit()
    frames = [frame(faces_dir, path) for path in TURN_LEFT]
    passed = send_burst(kiosk, exam.worker, frames)
    assert passed.status_code == 200, passed.get_json()
    server = entry_check(db).detail["identity"]

    paths = []
    for n, data in enumerate(frames):
        paths.append(tmp_path / f"f{n}.jpg")
        paths[-1].write_bytes(data)
    result = CliRunner().invoke(
        face,
        ["verify", str(faces_dir / ENROLLED), *map(str, paths)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    cli = json.loads(result.output)
    assert cli["decision"] == server["decision"] and cli["match"] == (cli["decision"] == "match")
    assert cli["distance"] == pytest.approx(server["distance"], abs=1e-6)
    assert cli["model_distances"] == pytest.approx(server["model_distances"], abs=1e-6)
    assert cli["frame_distances"] == pytest.approx(server["frame_distances"], abs=1e-6)
    assert cli["threshold"] == server["threshold"] and cli["frames"] == server["frames"]
    # The frames the tracking model alone embedded, each judged alone: the same ones, the same distances.
    assert cli["tracked"]["frames"] == server["tracked"]["frames"] and cli["tracked"]["frames"]
    assert cli["tracked"]["distances"] == pytest.approx(server["tracked"]["distances"], abs=1e-6)
    # The identity is judged on the frames liveness embeds: the same ones on both sides.
    chosen = entry_check(db).detail["liveness"]["identity_frames"]
    assert cli["identity_frames"] == chosen and cli["frames"] == len(chosen) <= len(TURN_LEFT)
    assert set(cli["distances"]) == {"dlib_resnet_v1", "sface_2021dec_int8bq"}
    # One enrolled worker: far below the population size, the server says it decided without normalising.
    assert not server["normalised"] and any("cohort normalisation off" in r for r in server["reasons"])

    # One frame alone is judged as an in-exam capture would be: quality gate and all.
    single = CliRunner().invoke(face, ["verify", str(faces_dir / ENROLLED), str(paths[0])], catch_exceptions=False)
    out = json.loads(single.output)
    assert out["frames"] == 1 and out["decision"] in ("match", "review"), out


def test_a_look_alike_colleague_nearer_than_the_claimed_worker_sends_the_entry_to_review(
    db, exam, kiosk, turn_only, faces_dir, login
):
    """Two enrolled workers who look alike: checking in as one with the other's face nearer opens a case naming him."""
    worker, colleague = exam.world.workers_a[0], exam.world.workers_a[1]
    assert worker.enterprise_id == colleague.enterprise_id
    face_service.enrol(db.session, worker, (faces_dir / ENROLLED).read_bytes(), PhotoSource.CONSOLE)
    face_service.enrol(db.session, colleague, (faces_dir / LOOK_ALIKE).read_bytes(), PhotoSource.CONSOLE)
    db.session.commit()
    frames = [frame(faces_dir, path) for path in TURN_LEFT]
    passed = send_burst(kiosk, worker, frames)
    assert passed.status_code == 200, passed.get_json()  # the same person: let in, but reviewed
    identity = entry_check(db).detail["identity"]
    look_alike = identity["look_alike"]
    assert look_alike["worker_id"] == colleague.id
    assert look_alike["distance"] < look_alike["claimed_distance"]
    assert identity["decision"] == "review" and any("rank check" in r for r in identity["reasons"])
    case = db.session.scalars(select(ReviewCase).where(ReviewCase.kind == ReviewKind.SEARCH_HIT)).one()
    assert case.worker_id == worker.id and case.other_worker_id == colleague.id

    # The reviewer sees the look-alike's enrolled photo beside the claimed worker's.
    client = login(exam.world.reviewer)
    page = client.get(f"/console/review/{case.id}").get_data(as_text=True)
    assert colleague.name in page and "相似从业人员" in page
    photo = db.session.scalars(select(FacePhoto).where(FacePhoto.worker_id == colleague.id)).one()
    assert f"/review/image/photo/{photo.id}" in page
    assert client.get(f"/console/review/image/photo/{photo.id}").status_code == 200

    # Without the colleague enrolled the same burst is not sent to review for a look-alike.
    face_service.deactivate_template(db.session, face_service.active_template(db.session, colleague.id).template_id)
    db.session.commit()
    again = send_burst(kiosk, worker, [frame(faces_dir, path, filming=2) for path in TURN_LEFT])
    assert again.status_code == 200
    assert entry_check(db).detail["identity"]["look_alike"] is None
