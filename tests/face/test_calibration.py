import numpy as np
import pytest

from exam_server.face.calibration import (
    EAST_ASIAN_REFERENCE,
    calibrate,
    equal_error_point,
    fit_far_curve,
    one_to_n_threshold,
    parse_same,
    read_pairs,
)
from exam_server.face.settings import FaceSettings


def test_rates_eer_and_target_far():
    rng = np.random.default_rng(0)
    genuine = rng.normal(0.40, 0.06, 4000)
    impostor = rng.normal(0.75, 0.08, 40000)
    report = calibrate(genuine, impostor, target_far=0.001)
    row = next(r for r in report.rows if r["threshold"] == 0.5)
    assert row["far"] == pytest.approx(np.mean(impostor <= 0.5), abs=1e-6)
    assert row["frr"] == pytest.approx(np.mean(genuine > 0.5), abs=1e-6)
    # Normal classes: EER where the standardised distances meet.
    assert report.eer_threshold == pytest.approx(0.40 + 0.06 * (0.35 / 0.14), abs=0.01)
    assert report.eer_rate < 0.01
    assert np.mean(impostor <= report.threshold_at_target_far) <= 0.001
    assert np.mean(impostor <= report.threshold_at_target_far + 0.005) > 0.0005
    assert report.to_dict()["equal_error"]["threshold"] == report.eer_threshold


def test_separable_classes_put_the_eer_between_them():
    t, rate = equal_error_point(np.array([0.3, 0.4, 0.5]), np.array([0.7, 0.8]))
    assert 0.5 <= t < 0.7 and rate == 0.0
    report = calibrate([0.3, 0.4, 0.5], [0.7, 0.8], target_far=0.001)
    assert any("cannot measure" in n for n in report.notes)


def test_one_to_n_threshold_from_the_east_asian_figures_backs_dlibs_cut():
    # dlib's 1:N cut of 0.18 (1:N now searches SFace: settings.search_model, docs/face-models.md).
    mu, sigma = fit_far_curve(EAST_ASIAN_REFERENCE)
    assert 0.48 < mu < 0.52 and 0.04 < sigma < 0.08
    strict = one_to_n_threshold(mu, sigma, 310_000, 0.01)
    assert strict + 1e-9 >= 0.18 and FaceSettings().search_model != "dlib_resnet_v1"
    assert one_to_n_threshold(mu, sigma, 1000, 0.01) > strict  # a smaller gallery allows more


def test_read_pairs_ignores_other_columns(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("note,b,a,same\nx, b1.jpg ,a1.jpg,1\ny,b2.jpg,a2.jpg,impostor\n,,,\n", encoding="utf-8")
    rows = read_pairs(path)
    assert rows == [{"a": "a1.jpg", "b": "b1.jpg", "same": "1"}, {"a": "a2.jpg", "b": "b2.jpg", "same": "impostor"}]
    assert parse_same(rows[0]["same"]) and not parse_same(rows[1]["same"])
    with pytest.raises(ValueError):
        parse_same("maybe")
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match="columns a and b"):
        read_pairs(bad)
