"""1:1 verification on real photos at the shipped thresholds."""

import itertools

import cv2
import numpy as np
import pytest

from exam_server.face import Embedding, ModelMismatchError, Template
from exam_server.face.engine import ID_CARD_SIZE

from .conftest import needs_faces

pytestmark = needs_faces


def _pairs(photos, same: bool):
    paths = photos.paths("single")
    for a, b in itertools.combinations(paths, 2):
        if (photos.identity(a) == photos.identity(b)) == same:
            yield a, b


def test_impostor_pairs_are_refused(photos, engine):
    pairs = list(_pairs(photos, same=False))
    assert len(pairs) > 150
    for a, b in pairs:
        result = engine.verify(photos.sample(b, "live"), photos.sample(a).template())
        assert result.decision == "mismatch" and not result.match, (a, b, result.distance)


def test_genuine_pairs_are_never_refused_and_the_close_ones_match(photos, engine):
    decisions = {}
    for a, b in _pairs(photos, same=True):
        result = engine.verify(photos.sample(b, "live"), photos.sample(a).template())
        assert result.decision != "mismatch", (a, b, result.distance)
        assert result.threshold == engine.settings.live_threshold and result.template_kind == "upload"
        decisions[(a, b)] = result.decision
    assert len(decisions) >= 12
    assert decisions[("single/kit_harington/kit1.jpg", "single/kit_harington/kit3.jpg")] == "match"


def test_live_frame_of_the_enrolment_photo_matches(photos, engine):
    template = photos.sample("single/obama/obama1.jpg").template()
    for path in ("resolutions/obama-480p.jpg", "resolutions/obama-720p.jpg", "resolutions/obama-1080p.jpg"):
        result = engine.verify(photos.sample(path, "live"), template)
        assert result.decision == "match" and result.match and result.distance < 0.2, path


def test_id_card_size_enrolment_verifies_a_live_photo_of_the_same_person(photos, engine):
    photo = engine.id_card_photo(photos.data("single/obama/obama3.jpg"))
    enrolled = engine.enrol_sample(photo, "id_card")
    assert (enrolled.image_width, enrolled.image_height) == ID_CARD_SIZE
    assert enrolled.model_name == "dlib_resnet_v1" and enrolled.model_version
    assert enrolled.quality.face_width < 80  # smaller than any live limit: upsampled detection found it
    template = Template.from_stored(
        enrolled.embedding.to_bytes(), enrolled.model_name, enrolled.model_version, "id_card", template_id=7
    )
    same = engine.verify(photos.sample("single/obama/obama1.jpg", "live"), template)
    assert same.template_kind == "id_card" and same.threshold == engine.settings.id_card_threshold
    assert same.decision == "match", same
    other = engine.verify(photos.sample("single/biden/biden2.jpg", "live"), template)
    assert other.decision == "mismatch", other


@pytest.mark.parametrize(
    ("path", "width", "sigma", "upsamples"),
    [("single/obama/obama3.jpg", 102, 0.0, [1]), ("single/clapton/clapton1.jpg", 70, 0.8, [1, 2])],
)
def test_a_chip_photo_is_looked_at_with_one_upsampling_before_the_configured_two(
    photos, engine, monkeypatch, path, width, sigma, upsamples
):
    cut = engine.decode(engine.id_card_photo(photos.data(path), quality=100), "id_card").rgb
    chip = cv2.resize(cut, (width, round(width * ID_CARD_SIZE[1] / ID_CARD_SIZE[0])), interpolation=cv2.INTER_AREA)
    if sigma:
        chip = cv2.GaussianBlur(chip, (0, 0), sigma)  # a blurred 70 px chip: one upsampling finds no face
    asked: list[int] = []
    detect = engine.detector.detect
    monkeypatch.setattr(
        engine.detector, "detect", lambda rgb, upsample: asked.append(upsample) or detect(rgb, upsample)
    )
    face = engine.find_single_face(chip, "id_card")
    assert asked == upsamples and engine.settings.detect_upsample_id_card == 2
    assert face.box.width < 80  # HOG's smallest at no upsampling: found only upsampled


def test_id_card_enrolment_of_every_person_against_their_other_photos(photos, engine):
    for _identity, paths in photos.by_identity().items():
        for a, b in itertools.permutations(paths, 2):
            result = engine.verify(photos.sample(b, "live"), photos.id_card_sample(a).template())
            assert result.decision != "mismatch", (a, b, result.distance)


def test_verify_refuses_vectors_of_different_models(photos, engine):
    sample = photos.sample("single/obama/obama1.jpg")
    foreign = Template(Embedding(sample.vector.copy(), "sface", "2021dec"), "live")
    with pytest.raises(ModelMismatchError) as info:
        engine.verify(sample, foreign)
    assert info.value.code == "model_mismatch" and "sface/2021dec" in str(info.value)
    older = Template(Embedding(sample.vector.copy(), sample.model_name, "0.0.1"), "live")
    with pytest.raises(ModelMismatchError):
        engine.verify(sample, older)


def test_three_valued_decision_follows_the_band(engine):
    s = engine.settings
    assert engine.decide(s.live_threshold - 0.01).decision == "match"
    assert engine.decide(s.live_threshold + 0.01).decision == "review"
    assert engine.decide(s.live_threshold + s.review_above + 0.01).decision == "mismatch"
    banded = type(engine)(s.replace(review_below=0.05))
    result = banded.decide(s.live_threshold - 0.01)
    assert result.decision == "review" and result.match  # inside the band below the threshold


def test_embedding_bytes_round_trip(photos):
    sample = photos.sample("single/lennon/lennon1.jpg")
    back = Embedding.from_bytes(sample.embedding.to_bytes(), sample.model_name, sample.model_version)
    assert np.array_equal(back.vector, sample.vector) and len(sample.embedding.to_bytes()) == 512
