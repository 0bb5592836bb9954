"""The fused decision cannot be worse than its best member: vetoes, no match out of two reviews, disagreement to review."""

from __future__ import annotations

import numpy as np
import pytest

from exam_server.face.cohort import ArrayGallery, Population
from exam_server.face.fusion import Fusion, OperatingPoint, load_params, verify_fused

from .conftest import needs_faces, needs_sface

KIT1, KIT2, KIT3 = "single/kit_harington/kit1.jpg", "single/kit_harington/kit2.jpg", "single/kit_harington/kit3.jpg"
ROSE1 = "single/rose_leslie/rose1.jpg"


def two_model_fusion(fused: OperatingPoint, first: OperatingPoint, second: OperatingPoint) -> Fusion:
    """A fusion whose fused distance is the mean of the two distances (weights equal, no shift)."""
    return Fusion(("a", "b"), ("a/1", "b/1"), (1.0, 1.0), (10.0, 10.0), (-1.0, -1.0), 0.0, fused, (first, second))


# Fused distance f = 1 + 0.1 * (0.5 z_a + 0.5 z_b) with z = (d - 1) / 10: f = 0.99 + 0.005 (d_a + d_b).
POINT = OperatingPoint(0.993, 0.993, 0.0, 0.004)  # fused: match <= 0.993 < review <= 0.997 < mismatch
MEMBER = OperatingPoint(0.3, 0.3, 0.0, 0.4)  # each model: match <= 0.3 < review <= 0.7 < mismatch


def decided(fusion: Fusion, a: float, b: float) -> tuple[str, tuple[str, ...]]:
    outcome = fusion.decide([a, b], "live")
    return outcome.decision, outcome.verdicts


def test_a_confident_mismatch_by_any_model_refuses():
    fusion = two_model_fusion(POINT, MEMBER, MEMBER)
    # b alone is far beyond its band; the fused distance (0.99 + 0.005 * 0.8 = 0.994) alone would only be review.
    assert decided(fusion, 0.0, 0.8) == ("mismatch", ("match", "mismatch"))
    # Even a fused match is refused when one model is confident it is somebody else.
    lenient = two_model_fusion(OperatingPoint(5.0, 5.0), MEMBER, MEMBER)
    outcome = lenient.decide([0.1, 0.75], "live")
    assert outcome.decision == "mismatch" and any("confident mismatch by b" in r for r in outcome.reasons)


def test_two_reviews_never_make_a_match():
    fusion = two_model_fusion(OperatingPoint(0.9945, 0.9945, 0.0, 0.003), MEMBER, MEMBER)
    # Each model alone says review (0.35 and 0.40 are inside their bands); the fused distance 0.99375 is a match.
    assert fusion.point.decide(fusion.distance([0.35, 0.40]), "live")[0] == "match"
    outcome = fusion.decide([0.35, 0.40], "live")
    assert outcome.decision == "review" and outcome.verdicts == ("review", "review")
    assert any("two reviews never make a match" in r for r in outcome.reasons)
    # One model alone saying match is enough when the fused distance agrees.
    assert decided(fusion, 0.2, 0.5)[0] == "match"


def test_disagreement_goes_to_review():
    strict = two_model_fusion(OperatingPoint(0.9905, 0.9905, 0.0, 0.001), MEMBER, MEMBER)
    # a says match (0.1), b says review (0.65): the fused distance 0.99375 is beyond the fused band (mismatch).
    assert strict.point.decide(strict.distance([0.1, 0.65]), "live")[0] == "mismatch"
    outcome = strict.decide([0.1, 0.65], "live")
    assert outcome.decision == "review" and any("disagreement" in r for r in outcome.reasons)


@needs_sface
@needs_faces
def test_match_is_computed_after_the_veto(two_photos, two_engine):
    engine, photos = two_engine, two_photos
    templates = photos.sample(KIT1).templates()
    base = engine.fusion
    # A fusion that would accept anybody, but whose SFace member is certain ROSE1 is not KIT1.
    lenient = Fusion(
        base.models,
        base.model_keys,
        base.centre,
        base.scale,
        base.coef,
        base.intercept,
        OperatingPoint(5.0, 5.0, 0.0, 1.0),
        (OperatingPoint(5.0, 5.0, 0.0, 1.0), OperatingPoint(0.1, 0.1, 0.0, 0.1)),
    )
    vetoed = verify_fused(engine, photos.sample(ROSE1, "live"), templates, lenient)
    assert vetoed.decision == "mismatch" and vetoed.match is False
    assert vetoed.to_dict()["match"] is False and vetoed.to_dict()["decision"] == "mismatch"
    same = verify_fused(engine, photos.sample(KIT3, "live"), templates)
    assert same.match == (same.decision == "match")


@needs_sface
@needs_faces
def test_one_frame_of_somebody_else_refuses_the_burst(two_photos, two_engine):
    engine, photos = two_engine, two_photos
    templates = photos.sample(KIT2).templates()
    result = engine.verify_fused([photos.sample(KIT1, "live"), photos.sample(ROSE1, "live")], templates)
    assert result.decision == "mismatch" and not result.match and len(result.frame_distances) == 2
    assert result.frame_distances[1] > result.frame_distances[0]
    # Even with a fusion lenient enough to accept the pair's mean, the frame that is somebody else refuses it.
    base = engine.fusion
    wide = OperatingPoint(base.point.live_threshold, base.point.id_card_threshold, 0.0, 1.0)
    lenient = Fusion(
        base.models, base.model_keys, base.centre, base.scale, base.coef, base.intercept, wide, base.members
    )
    mean = lenient.decide(list(result.model_distances), "live").decision
    burst = verify_fused(engine, [photos.sample(KIT1, "live"), photos.sample(ROSE1, "live")], templates, lenient)
    if mean != "mismatch":
        assert burst.decision == "mismatch" and any("alone is a mismatch" in r for r in burst.reasons)


@needs_sface
@needs_faces
def test_cohort_normalisation_only_above_the_population_size(two_photos, two_engine):
    """Below the population size the plain decision stands and says so; above it the normalised one decides."""
    engine, photos = two_engine, two_photos
    cohort = load_params(engine.settings.fusion_file).cohort
    assert cohort is not None and cohort.fusion.model_keys == engine.fusion.model_keys
    probe, templates = photos.sample(KIT3, "live"), photos.sample(KIT1).templates()
    draw = np.random.default_rng(7)

    def population(rows: int) -> Population:
        galleries = {}
        for key in engine.fusion.model_keys:
            model = engine.model_for(key)
            base = np.array([photos.sample(p).embedding_for(key).vector for p in (ROSE1, "single/biden/biden1.jpg")])
            noise = draw.normal(0.0, 0.05 if model.metric == "cosine" else 0.03, (rows, model.dim))
            galleries[key] = ArrayGallery(key, np.arange(rows), base[np.arange(rows) % 2] + noise, model.metric)
        return Population(galleries, None, None)

    needed = max(engine.settings.cohort_min_population, cohort.sample_size)
    small = verify_fused(engine, probe, templates, population=population(needed - 1))
    assert not small.normalised and any("cohort normalisation off" in r for r in small.reasons)
    plain = verify_fused(engine, probe, templates)
    assert (small.decision, small.distance) == (plain.decision, plain.distance)
    large = verify_fused(engine, probe, templates, population=population(needed))
    assert large.normalised and len(large.normalised_scores) == 2
    assert large.threshold == cohort.fusion.point.live_threshold
    # A genuine face far from a cohort of other people: normalised, it is still the same person.
    assert large.decision in ("match", "review")


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_array_gallery_search_and_spread(metric):
    vectors = np.eye(4, dtype=np.float32)[[0, 1, 1, 2, 3]]
    gallery = ArrayGallery("m/1", [10, 11, 11, 12, 13], vectors, metric)
    assert len(gallery) == 4 and 11 in gallery
    hits = gallery.search(np.array([0, 1, 0, 0], np.float32), k=2)
    assert [h.worker_id for h in hits][0] == 11 and hits[0].distance == pytest.approx(0.0)
    assert all(h.worker_id != 11 for h in gallery.search(np.array([0, 1, 0, 0], np.float32), exclude=11))
    assert 11 not in gallery.restricted(drop_rows=[1, 2])
    assert gallery.spread(2).shape == (2, 4)


@needs_sface
@needs_faces
def test_the_rank_check_measures_the_claimed_worker_on_his_enrolled_templates_as_the_gallery_does(
    two_photos, two_engine
):
    """Kit got past the door as Rose: his check-in frames are her day's reference, and he is enrolled himself.

    At a capture the rank check still names him: Rose is measured on her enrolled photo alone, nearest, as the
    gallery measures Kit on his; the check-in reference (Kit's own face) would have hidden him.
    """
    from exam_server.face.fusion import rank_check

    engine, photos = two_engine, two_photos
    key = engine.track_model.key
    model = engine.model_for(key)
    probe = photos.sample(KIT3, "live")
    enrolled = photos.sample(ROSE1).templates(template_id=1)
    door = photos.sample(KIT2, "live").templates()  # the day's check-in reference: no stored row
    kit = photos.sample(KIT1).embedding_for(key).vector
    gallery = ArrayGallery(key, [2], kit[None, :], model.metric)
    population = Population({}, claimed=1, rank_gallery=gallery)

    look_alike = rank_check(engine, population, [probe], [*enrolled, *door])
    assert look_alike is not None and look_alike["worker_id"] == 2
    to_rose = model.distance(probe.embedding_for(key).vector, photos.sample(ROSE1).embedding_for(key).vector)
    assert look_alike["claimed_distance"] == pytest.approx(to_rose, abs=1e-6)
    assert look_alike["distance"] < look_alike["claimed_distance"]
    # Two colleagues enrolled from one photo are equally near: neither is nearer than the other.
    twin = ArrayGallery(key, [2], photos.sample(ROSE1).embedding_for(key).vector[None, :], model.metric)
    assert rank_check(engine, Population({}, 1, twin), [probe], [*enrolled, *door]) is None
    # Without a stored template (a pair judged by `face verify`), every template given counts, nearest.
    alone = rank_check(engine, population, [probe], photos.sample(ROSE1).templates())
    assert alone is not None and alone["claimed_distance"] == pytest.approx(to_rose, abs=1e-6)
