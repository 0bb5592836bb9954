"""The pluggable model interface: several models per engine, templates tagged and never compared across models."""

import numpy as np
import pytest

from exam_server.face import Embedding, FaceEngine, FaceSettings, ModelMismatchError, Template
from exam_server.face.models import ArcFaceMbfModel, load_model, model_names
from exam_server.face.reembed import reembed_files

from .conftest import FakeModel, needs_faces


def test_registry_knows_the_second_models_and_guards_non_commercial_weights():
    assert {"dlib_resnet_v1", "sface_2021dec_int8bq", "sface_2021dec", "arcface_w600k_mbf"} <= set(model_names())
    assert ArcFaceMbfModel.noncommercial
    with pytest.raises(PermissionError, match="non-commercial"):
        load_model("arcface_w600k_mbf")
    with pytest.raises(PermissionError):
        _ = FaceEngine(FaceSettings(model="arcface_w600k_mbf")).model
    with pytest.raises(PermissionError):
        _ = FaceEngine(FaceSettings(extra_models=("ARCFACE_W600K_MBF",))).extra_models
    with pytest.raises(KeyError, match="unknown face model"):
        load_model("no_such_model")


def test_extra_models_come_from_the_environment_in_any_case():
    settings = FaceSettings.from_env(
        {
            "EXAM_FACE_EXTRA_MODELS": "sface_2021dec_int8bq, sface_2021dec",
            "EXAM_FACE_FUSED": "true",
            "EXAM_FACE_FUSION_FILE": "/tmp/x.json",
        }
    )
    # The settings coercion upper-cases tuple items; the engine looks models up in any case.
    assert [n.lower() for n in settings.extra_models] == ["sface_2021dec_int8bq", "sface_2021dec"]
    assert settings.fused and settings.fusion_file == "/tmp/x.json" and not settings.allow_noncommercial_models


@needs_faces
def test_one_analysis_gives_a_template_per_model_tagged_with_name_and_version(photos_dir):
    fake_a, fake_b = FakeModel("fake_a", "1", seed=1), FakeModel("fake_b", "7", seed=2)
    engine = FaceEngine(FaceSettings(), extra_models=[fake_a, fake_b])
    assert [m.name for m in engine.models] == ["dlib_resnet_v1", "fake_a", "fake_b"]
    sample = engine.analyse((photos_dir / "single/obama/obama1.jpg").read_bytes(), "upload")
    assert fake_a.calls == 1 and fake_b.calls == 1  # one detection, each model embeds once
    assert list(sample.embeddings) == [engine.model.key, "fake_a/1", "fake_b/7"]
    templates = sample.templates(template_id=3)
    assert [(t.embedding.model_name, t.embedding.model_version) for t in templates] == [
        ("dlib_resnet_v1", engine.model.version),
        ("fake_a", "1"),
        ("fake_b", "7"),
    ]
    stored = [
        Template.from_stored(t.embedding.to_bytes(), t.embedding.model_name, t.embedding.model_version, "console")
        for t in templates
    ]
    assert len(stored[1].embedding.to_bytes()) == 4 * fake_a.dim
    probe = engine.analyse((photos_dir / "single/obama/obama2.jpg").read_bytes(), "live")
    # Each template is compared with the probe's vector of the same model only.
    assert engine.verify(probe, stored[0]).model_name == "dlib_resnet_v1"
    with pytest.raises(Exception, match="no operating point|fake_a"):
        engine.verify(probe, stored[1])  # no thresholds for an uncalibrated model: refused, not guessed
    # A vector of one model against a template of another: refused.
    with pytest.raises(ModelMismatchError):
        engine.verify(probe.embedding, stored[1])
    foreign = Template(Embedding(np.ones(8, np.float32), "fake_a", "2"), "live")  # same name, other version
    with pytest.raises(ModelMismatchError):
        engine.verify(probe, foreign)
    with pytest.raises(ModelMismatchError):
        probe.embedding_for("fake_a/2")
    # An engine that does not hold the template's model refuses too.
    with pytest.raises(ModelMismatchError):
        FaceEngine(FaceSettings()).verify(probe.extra_embeddings["fake_a/1"], stored[1])


@needs_faces
def test_embed_with_produces_a_template_of_any_model_from_bytes_an_array_or_a_sample(photos_dir):
    fake = FakeModel("fake_a", "1", seed=1)
    engine = FaceEngine(FaceSettings(), extra_models=[fake])
    data = (photos_dir / "single/biden/biden2.jpg").read_bytes()
    from_bytes = engine.embed_with("fake_a", data)
    assert from_bytes.model_key == "fake_a/1"
    rgb = engine.decode(data).rgb
    assert np.allclose(engine.embed_with(fake, rgb).vector, from_bytes.vector)
    # The same kind of image as embed_with's default: a live frame is found by the cheaper detection first.
    sample = engine.analyse(data, "upload")
    assert np.allclose(engine.embed_with("fake_a/1", sample).vector, from_bytes.vector)
    assert engine.embed_with("dlib_resnet_v1", sample).model_key == engine.model.key


@needs_faces
def test_reembed_is_ordered_resumable_and_reports_progress(photos_dir, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((photos_dir / "single/obama/obama1.jpg").read_bytes()[:3000])
    photos = [
        (1, photos_dir / "single/obama/obama1.jpg", "console"),
        (2, broken, "batch"),
        (3, photos_dir / "single/clapton/clapton2.jpg", "id_card"),
        (4, photos_dir / "single/carell/carell1.jpg", "batch"),
    ]
    seen = []
    results = list(
        reembed_files(
            photos, "dlib_resnet_v1", processes=1, done={4}, progress=lambda n, r: seen.append((n, r.photo_id))
        )
    )
    assert [r.photo_id for r in results] == [1, 2, 3] and seen == [(1, 1), (2, 2), (3, 3)]
    assert results[0].ok and results[0].embedding.model_name == "dlib_resnet_v1"
    assert not results[1].ok and results[1].error == "not_an_image"
    assert results[2].ok  # an ID-card source is analysed as an ID-card photo
    with pytest.raises(ValueError, match="unknown photo source"):
        list(reembed_files([(9, broken, "selfie")], "dlib_resnet_v1", processes=1))
