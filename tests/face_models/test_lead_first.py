"""The fused decision asks SFace first and dlib only when SFace leaves the decision open (fusion.settled_by_lead)."""

import itertools

import pytest

from exam_server.face import FaceEngine
from exam_server.face.fusion import lead_model, settled_by_lead

from .conftest import needs_faces, needs_sface

KIT1 = "single/kit_harington/kit1.jpg"
KIT3 = "single/kit_harington/kit3.jpg"
ROSE1 = "single/rose_leslie/rose1.jpg"
PEOPLE = [
    "single/kit_harington/kit1.jpg",
    "single/kit_harington/kit2.jpg",
    "single/kit_harington/kit3.jpg",
    "single/obama/obama1.jpg",
    "single/obama/obama2.jpg",
    "single/rose_leslie/rose1.jpg",
    "single/rose_leslie/rose2.jpg",
    "single/lennon/lennon1.jpg",
    "single/biden/biden2.jpg",
]


class CountingDlib:
    """Wrap an embedding model and count its embeddings (how often the decision asked for dlib)."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def __getattr__(self, name):
        return getattr(self.model, name)

    def embed_from(self, *args, **kwargs):
        self.calls += 1
        return self.model.embed_from(*args, **kwargs)


@pytest.fixture(scope="module")
def counted(two_engine):
    """A fused engine whose dlib counts its embeddings, and the counter."""
    dlib = CountingDlib(two_engine.model)
    return FaceEngine(two_engine.settings, model=dlib, extra_models=two_engine.extra_models), dlib


def _live(engine, photos, path):
    """Return a live frame analysed as a capture is: found, then embedded by the model asked first."""
    rgb = engine.decode(photos.data(path), "live").rgb
    return engine.embed_lead(rgb, engine.analyse_rgb(rgb, "live", embed=False))


def test_sface_leads_the_shipped_fusion(two_engine):
    fusion = two_engine.fusion
    assert fusion.models[lead_model(fusion)] == "sface_2021dec_int8bq"
    assert [m.name for m in two_engine.first_models] == ["sface_2021dec_int8bq"]
    every_model = FaceEngine(two_engine.settings.replace(fused_lead_first=False))
    assert [m.name for m in every_model.first_models] == ["dlib_resnet_v1", "sface_2021dec_int8bq"]


@needs_sface
@needs_faces
def test_a_clear_match_never_embeds_dlib_and_a_doubt_does(counted, two_photos):
    engine, dlib = counted
    templates = two_photos.sample(KIT1).templates()
    same = _live(engine, two_photos, KIT3)
    assert set(same.embeddings) == {"sface_2021dec_int8bq/opencv_zoo-fb143eea0783-flip"}
    before = dlib.calls
    verdict = engine.verify_fused(same, templates)
    assert verdict.decision == "match" and dlib.calls == before
    assert verdict.per_model[0].model_name == "sface_2021dec_int8bq" and len(verdict.per_model) == 1
    assert verdict.to_dict()["model_distances"][0] is None
    # Someone else: SFace leaves it open (not a match), so dlib embeds that face and every model decides.
    other = _live(engine, two_photos, ROSE1)
    refused = engine.verify_fused(other, templates)
    assert refused.decision == "mismatch" and dlib.calls == before + 1
    assert [v.model_name for v in refused.per_model] == ["dlib_resnet_v1", "sface_2021dec_int8bq"]


@needs_sface
@needs_faces
def test_asked_first_sface_changes_no_decision_but_a_dlib_veto_of_a_clear_sface_match(two_engine, two_photos):
    """Every pair of the test photos: the decision equals every model's, except where dlib alone would have vetoed."""
    every_model = FaceEngine(two_engine.settings.replace(fused_lead_first=False))
    settled = 0
    for a, b in itertools.permutations(PEOPLE, 2):
        probe, templates = two_photos.sample(b, "live"), two_photos.sample(a).templates()
        asked = two_engine.verify_fused(probe, templates)
        everyone = every_model.verify_fused(probe, templates)
        lead_only = any("not asked" in r for r in asked.reasons)
        settled += lead_only
        if everyone.per_model[0].decision == "mismatch" and lead_only:
            assert asked.decision == "match"  # the one thing given up: a dlib veto of a clear SFace match
        else:
            assert asked.decision == everyone.decision, (a, b, asked.reasons, everyone.reasons)
        if lead_only:
            assert asked.distance >= everyone.distance  # the reported fused distance bounds the true one
    assert settled > 0


@needs_sface
@needs_faces
def test_a_frame_that_alone_is_open_makes_every_model_decide(two_engine, two_photos):
    """A burst settles early only when every frame alone would: one doubtful frame asks dlib for all of them."""
    templates = two_photos.sample(KIT1).templates()
    kind = templates[0].kind
    fusion = two_engine.fusion
    clear = two_photos.sample(KIT3, "live")
    assert settled_by_lead(two_engine, fusion, None, [clear], templates, kind) is not None
    doubtful = two_photos.sample(ROSE1, "live")
    assert settled_by_lead(two_engine, fusion, None, [clear, doubtful], templates, kind) is None
    assert (
        settled_by_lead(
            FaceEngine(two_engine.settings.replace(fused_lead_first=False)), fusion, None, [clear], templates, kind
        )
        is None
    )


@needs_sface
@needs_faces
def test_a_template_embedded_by_sface_only_gets_dlib_only_when_the_decision_asks(two_engine, two_photos):
    """The ID-card photo begin() embedded by SFace alone: its dlib template is made only for an open decision."""
    enrolled = two_photos.sample(KIT1).templates()
    chip = two_photos.sample("single/kit_harington/kit2.jpg", "id_card").templates()
    chip_sface = [t for t in chip if t.embedding.model_name == "sface_2021dec_int8bq"]
    asked = []

    def chip_rest():
        asked.append(True)
        return [t for t in chip if t.embedding.model_name == "dlib_resnet_v1"]

    clear = two_engine.verify_fused(two_photos.sample(KIT3, "live"), [*enrolled, *chip_sface], templates_rest=chip_rest)
    assert clear.decision == "match" and clear.templates == 3 and not asked
    doubtful = two_engine.verify_fused(
        two_photos.sample(ROSE1, "live"), [*enrolled, *chip_sface], templates_rest=chip_rest
    )
    assert asked == [True] and doubtful.templates == 4 and doubtful.decision == "mismatch"
