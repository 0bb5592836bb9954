"""Calibrated fusion, operating points per model, the review band, several frames and templates."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from exam_server.face import FaceEngine, FaceSettings, ModelMismatchError
from exam_server.face.cli import face
from exam_server.face.errors import FaceError
from exam_server.face.fusion import (
    PARAMS_FILE,
    FaceModelParams,
    Fusion,
    OperatingPoint,
    fit_fusion,
    fit_logistic,
    load_params,
    operating_point,
)
from exam_server.face.models import SFaceFp32Model, SFaceModel

from .conftest import needs_faces, needs_sface

KIT1, KIT2, KIT3 = "single/kit_harington/kit1.jpg", "single/kit_harington/kit2.jpg", "single/kit_harington/kit3.jpg"
ROSE1, ROSE2 = "single/rose_leslie/rose1.jpg", "single/rose_leslie/rose2.jpg"
SUBSET = [
    KIT1,
    KIT2,
    KIT3,
    ROSE1,
    ROSE2,
    "single/adams/adams1.jpg",
    "single/clapton/clapton1.jpg",
    "single/clapton/clapton2.jpg",
]


def _synthetic(seed=0, n_gen=400, n_imp=4000):
    rng = np.random.default_rng(seed)
    # Model 1 separates well, model 2 hardly: the fit must lean on model 1.
    gen = np.c_[rng.normal(0.35, 0.06, n_gen), rng.normal(0.55, 0.10, n_gen)]
    imp = np.c_[rng.normal(0.80, 0.07, n_imp), rng.normal(0.60, 0.10, n_imp)]
    return gen, imp


def test_logistic_fit_is_balanced_and_finite_on_separable_data():
    x = np.r_[np.linspace(-3, -1, 10), np.linspace(1, 3, 100)].reshape(-1, 1)
    y = np.r_[np.ones(10), np.zeros(100)]
    coef, intercept = fit_logistic(x, y, l2=0.01)
    assert np.isfinite(coef).all() and coef[0] < 0 and abs(intercept) < 1.0  # balanced: boundary near 0
    with pytest.raises(ValueError):
        fit_logistic(x[:5], y[:5])


def test_fusion_weights_follow_the_better_model_and_impostors_sit_at_one():
    gen, imp = _synthetic()
    fusion = fit_fusion(gen, imp, ("m1", "m2"), ("m1/1", "m2/1"), target_far=0.001)
    u = fusion.direction
    assert u[0] > 0.8 and abs(u).sum() == pytest.approx(1.0)
    f_imp, f_gen = fusion.distances(imp), fusion.distances(gen)
    assert f_imp.mean() == pytest.approx(1.0, abs=0.01)
    # Better than the better model alone at the same false-accept rate.
    t = fusion.point.live_threshold
    assert np.mean(f_imp <= t) <= 0.002
    alone = np.quantile(imp[:, 0], 0.001)
    assert np.mean(f_gen > t) <= np.mean(gen[:, 0] > alone) + 0.01
    assert fusion.distance(gen[0]) == pytest.approx(f_gen[0])
    assert fusion.same_probability([0.3, 0.5]) > 0.0 and fusion.same_probability([0.3, 0.5]) > fusion.same_probability(
        [0.9, 0.7]
    )
    back = Fusion.from_dict(json.loads(json.dumps(fusion.to_dict())))
    assert np.allclose(back.distances(gen[:5]), f_gen[:5], atol=1e-4)


def test_operating_point_threshold_band_and_kinds():
    rng = np.random.default_rng(3)
    gen, imp = rng.normal(0.3, 0.05, 2000), rng.normal(0.8, 0.08, 20000)
    point, stats = operating_point(gen, imp, target_far=0.01, review_far=0.05)
    assert point.live_threshold == pytest.approx(0.8 + 0.08 * -2.326, abs=0.01)
    assert stats["sets"]["*"]["far_at_threshold"] <= 0.0105
    # The band reaches the 5% impostor quantile: at most that share of impostors goes to a person.
    assert point.live_threshold + point.review_above == pytest.approx(0.8 - 1.645 * 0.08, abs=0.01)
    # A model's part in a fusion: its band reaches past all but veto_frr of the same-person pairs.
    wide = rng.normal(0.5, 0.1, 4000)
    member, _ = operating_point(wide, imp, target_far=0.01, veto_frr=0.01)
    assert member.live_threshold + member.review_above == pytest.approx(0.5 + 2.326 * 0.1, abs=0.015)
    # With set labels the threshold holds on each set: the harder set decides.
    harder = rng.normal(0.7, 0.08, 20000)
    groups = ["easy"] * len(imp) + ["hard"] * len(harder)
    both, fitted = operating_point(gen, np.r_[imp, harder], 0.01, 0.05, impostor_groups=groups)
    assert both.live_threshold == pytest.approx(0.7 - 2.326 * 0.08, abs=0.01)
    assert fitted["sets"]["hard"]["far_at_threshold"] <= 0.0105
    card, _ = operating_point(gen + 0.05, imp, target_far=0.01, kind="id_card", base=point)
    assert card.live_threshold == point.live_threshold and card.id_card_threshold <= point.live_threshold + 1e-9
    # Too few impostors to measure the target: the normal fit keeps the threshold below the first impostor.
    small, stats = operating_point([0.2, 0.3, 0.35], [0.7, 0.8, 0.9, 0.75], target_far=0.001)
    assert small.live_threshold < 0.7 and stats["far_measurable_down_to"] == 0.25


def test_review_band_is_three_valued_per_score():
    point = OperatingPoint(0.5, 0.45, review_below=0.05, review_above=0.2)
    assert point.decide(0.44, "live")[0] == "match"
    decision, match, *_ = point.decide(0.47, "live")
    assert decision == "review" and not match  # below the threshold but inside the band: a person decides
    assert point.decide(0.69, "live")[0] == "review" and point.decide(0.71, "live")[0] == "mismatch"
    assert point.decide(0.42, "id_card")[0] == "review"  # ID-card templates have their own threshold


@needs_sface
def test_shipped_parameters_match_the_registered_models(sface):
    params = load_params()
    assert params.path == str(PARAMS_FILE)
    assert params.models[sface.name].model_key == sface.key
    # SFace fp32 has its own point alone (scripts/fit_face_models.py --only), for its own weights, not in the fusion.
    fp32 = params.models[SFaceFp32Model.name]
    assert fp32.model_key == f"{SFaceFp32Model.name}/opencv_zoo-{SFaceFp32Model.weights.sha256[:12]}-flip"
    fused = params.fused
    assert fused.models == ("dlib_resnet_v1", sface.name) and fused.model_keys[1] == sface.key
    assert all(c < 0 for c in fused.coef)  # a larger distance of either model means less alike
    assert len(fused.members) == 2 and params.cohort is not None
    assert params.cohort.fusion.model_keys == fused.model_keys and params.cohort.sample_size > params.cohort.top_k
    for entry in [*(e.point for e in params.models.values()), fused.point, *fused.members]:
        assert entry.review_above > 0 and entry.live_threshold > 0 and entry.id_card_threshold > 0
    # Fitted on the East-Asian development sets, every threshold holding on each of them.
    assert {"jaffe", "kpop", "nogizaka46"} <= set(fused.fitted_on["live"]["threshold_per_set"])
    with pytest.raises(FaceError, match="no operating point"):
        params.point_for("unknown_model")
    with pytest.raises(ModelMismatchError):
        params.point_for(sface.name, "sface_2021dec_int8bq/other-weights")


@needs_sface
@needs_faces
def test_per_model_review_band_for_sface(two_engine, sface):
    point = load_params().point_for(sface.name, sface.key)
    low = point.live_threshold - point.review_below
    high = point.live_threshold + point.review_above
    assert two_engine.decide(low - 0.01, "live", sface).decision == "match"
    assert two_engine.decide(high - 0.01, "live", sface).decision == "review"
    assert two_engine.decide(high + 0.01, "live", sface).decision == "mismatch"
    result = two_engine.decide(low - 0.01, "id_card", sface)
    assert result.model_name == sface.name and result.threshold == point.id_card_threshold


@needs_sface
@needs_faces
def test_fused_verification_on_real_photos(two_photos, two_engine):
    engine, photos = two_engine, two_photos
    templates = photos.sample(KIT1).templates()
    assert len(templates) == 2
    same = engine.verify_fused(photos.sample(KIT3, "live"), templates)
    assert same.decision in ("match", "review") and same.models == ("dlib_resnet_v1", SFaceModel.name)
    other = engine.verify_fused(photos.sample(ROSE1, "live"), templates)
    assert other.decision == "mismatch" and other.distance > same.distance
    # The same photo as a template and as the live frame: deep inside the match region.
    assert engine.verify_fused(photos.sample(KIT1, "live"), templates).decision == "match"
    # Several enrolment photos and several frames: every (frame, template) pair counts.
    many = engine.verify_fused(
        [photos.sample(KIT3, "live"), photos.sample(KIT1, "live")], templates + photos.sample(KIT2).templates()
    )
    assert many.frames == 2 and many.templates == 4 and len(many.frame_distances) == 2
    assert json.loads(json.dumps(many.to_dict()))["model_name"] == "fused"
    # Per-model verdicts are reported beside the fused one (every model's, when every model is asked).
    every_model = FaceEngine(engine.settings.replace(fused_lead_first=False))
    asked = every_model.verify_fused(photos.sample(KIT3, "live"), templates)
    assert [v.model_name for v in asked.per_model] == ["dlib_resnet_v1", SFaceModel.name]
    assert [v.model_name for v in same.per_model] in (["dlib_resnet_v1", SFaceModel.name], [SFaceModel.name])
    # Plain verify against the SFace template uses the probe's SFace vector and SFace's own thresholds.
    alone = engine.verify(photos.sample(KIT3, "live"), templates[1])
    assert (
        alone.model_name == SFaceModel.name
        and alone.threshold == load_params().models[SFaceModel.name].point.live_threshold
    )
    assert engine.verify(photos.sample(ROSE1, "live"), templates[1]).decision == "mismatch"


@needs_sface
@needs_faces
def test_fused_decision_never_silently_passes_a_hard_case(two_photos, two_engine):
    engine, photos = two_engine, two_photos
    templates = photos.sample(KIT1).templates()
    frames = [photos.sample(KIT1, "live"), photos.sample(ROSE1, "live")]
    result = engine.verify_fused(frames, templates)
    # One frame of another person: that frame alone is a mismatch, so the burst is one.
    assert result.decision == "mismatch" and any("frame" in r for r in result.reasons)
    # A fusion whose weights trust only SFace still cannot auto-match when dlib alone is sure it is not him.
    base = engine.fusion
    lenient = Fusion(
        base.models,
        base.model_keys,
        base.centre,
        base.scale,
        (0.0, -1.0),
        base.intercept,
        OperatingPoint(5.0, 5.0, 0.0, 1.0),
        (OperatingPoint(0.3, 0.3, 0.0, 0.2), OperatingPoint(5.0, 5.0, 0.0, 1.0)),
    )
    from exam_server.face.fusion import verify_fused

    probe = photos.sample(ROSE1, "live")
    vetoed = verify_fused(engine, probe, templates, lenient)
    assert vetoed.decision == "mismatch" and any("dlib_resnet_v1" in r for r in vetoed.reasons)
    # A template set without the second model's template is refused, not verified with dlib alone.
    with pytest.raises(ModelMismatchError, match="re-enrol"):
        engine.verify_fused(probe, [t for t in templates if t.embedding.model_name == "dlib_resnet_v1"])
    # And a dlib-only engine cannot run the fusion at all.
    with pytest.raises(ModelMismatchError):
        _ = FaceEngine(FaceSettings(extra_models=())).fusion


@needs_sface
@needs_faces
def test_fusion_calibration_on_shared_faces_writes_parameters_the_engine_uses(photos_dir, tmp_path):
    rows = ["a,b,same"]
    for i, a in enumerate(SUBSET):
        for b in SUBSET[i + 1 :]:
            rows.append(f"{a},{b},{int(a.split('/')[1] == b.split('/')[1])}")
    rows.append(f"multi/two_people.jpg,{KIT2},0")
    pairs_csv = tmp_path / "pairs.csv"
    pairs_csv.write_text("\n".join(rows) + "\n")
    out = tmp_path / "params.json"
    result = CliRunner().invoke(
        face,
        [
            "calibrate",
            "--pairs",
            str(pairs_csv),
            "--images",
            str(photos_dir),
            "--fused",
            "--model",
            "dlib_resnet_v1",
            "--model",
            SFaceModel.name,
            "--write",
            str(out),
            "--json",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["genuine_pairs"] == 5 and report["impostor_pairs"] == 23 and len(report["refused"]) == 1
    fused = report["fused"]
    assert fused["report"]["genuine_distances"]["max"] < fused["report"]["impostor_distances"]["min"]
    assert fused["report"]["equal_error"]["rate"] == 0.0
    params = FaceModelParams.from_dict(json.loads(out.read_text()))
    assert params.fused.models == ("dlib_resnet_v1", SFaceModel.name)
    assert params.models == load_params().models  # per-model points are kept when only the fusion is refitted
    # The engine takes its fusion from EXAM_FACE_FUSION_FILE.
    engine = FaceEngine(FaceSettings(extra_models=(SFaceModel.name,), fusion_file=str(out)))
    assert engine.fusion.coef == params.fused.coef
    # ID-card thresholds with the weights kept.
    result = CliRunner().invoke(
        face,
        [
            "calibrate",
            "--pairs",
            str(pairs_csv),
            "--images",
            str(photos_dir),
            "--fused",
            "--id-card",
            "--keep-weights",
            "--write",
            str(out),
        ],
        env={"EXAM_FACE_FUSION_FILE": str(out)},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert (
        "ID-card photo vs live" in result.output
        and "fused distance: dlib_resnet_v1 + sface_2021dec_int8bq" in result.output
    )
    again = FaceModelParams.from_dict(json.loads(out.read_text()))
    assert again.fused.coef == params.fused.coef and "id_card" in again.fused.fitted_on


@needs_sface
@needs_faces
def test_calibrate_one_model(photos_dir, tmp_path):
    pairs_csv = tmp_path / "pairs.csv"
    pairs_csv.write_text(
        f"a,b,same\n{KIT1},{KIT3},1\n{KIT1},{KIT2},1\n{ROSE1},{ROSE2},1\n{KIT1},{ROSE1},0\n"
        f"{KIT2},{ROSE2},0\n{KIT3},{ROSE1},0\n"
    )
    out = tmp_path / "p.json"
    result = CliRunner().invoke(
        face,
        [
            "calibrate",
            "--pairs",
            str(pairs_csv),
            "--images",
            str(photos_dir),
            "--model",
            SFaceModel.name,
            "--write",
            str(out),
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert (
        "== model sface_2021dec_int8bq/opencv_zoo-fb143eea0783-flip" in result.output
        and "operating point" in result.output
    )
    written = FaceModelParams.from_dict(json.loads(out.read_text()))
    assert written.models[SFaceModel.name].fitted_on["live"]["genuine_pairs"] == 3
    bad = CliRunner().invoke(
        face, ["calibrate", "--pairs", str(pairs_csv), "--images", str(photos_dir), "--model", "arcface_w600k_mbf"]
    )
    assert bad.exit_code != 0 and "non-commercial" in bad.output
