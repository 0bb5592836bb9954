"""Spoken guidance: espeak-ng's Mandarin audio of each phrase, made once, replaced by a bureau's recordings."""

from __future__ import annotations

import shutil
import wave

import pytest

from kiosk_client.texts import PHRASES, fixed_phrases, phrase, spoken
from kiosk_client.voice import Voice

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt-get install espeak-ng)"
)


@needs_espeak
def test_a_phrase_is_said_in_mandarin_and_kept(tmp_path):
    voice = Voice(tmp_path / "cache")
    path = voice.audio("welcome.say")
    with wave.open(str(path)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    # 24 characters of Mandarin at 150 words a minute: a few seconds of speech, not a beep.
    assert 2.0 < seconds < 15.0, seconds
    made = path.stat().st_mtime_ns
    assert voice.audio("welcome.say") == path and path.stat().st_mtime_ns == made  # made once


@needs_espeak
def test_only_phrases_the_screen_showed_are_said(tmp_path):
    voice = Voice(tmp_path / "cache")
    message = spoken("考试已暂停，等待工作人员审核。")
    assert voice.audio(message.key) is None  # nobody can make the kiosk say arbitrary text by URL
    voice.remember(message)
    assert voice.audio(message.key).stat().st_size > 10_000
    assert voice.audio("../../etc/passwd") is None


@needs_espeak
def test_build_makes_every_fixed_phrase_ahead_of_use(tmp_path):
    voice = Voice(tmp_path / "cache")
    made, ready = voice.build()
    assert made == len(fixed_phrases()) and ready == 0
    assert voice.build() == (0, len(fixed_phrases()))


def test_a_bureaus_recording_replaces_the_synthetic_voice(tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    (recordings / "welcome.say.mp3").write_bytes(b"ID3 recorded by the bureau")
    keep = phrase("consent.keep", days=180)
    (recordings / f"{keep.key}.wav").write_bytes(b"RIFF recorded")
    voice = Voice(tmp_path / "cache", recordings, engine="/nonexistent/espeak-ng")
    assert voice.audio("welcome.say") == recordings / "welcome.say.mp3"
    assert Voice.media_type(voice.audio("welcome.say")) == "audio/mpeg"
    assert keep.key == "consent.keep-180" and "180天" in keep.text
    assert voice.audio(keep.key) == recordings / "consent.keep-180.wav"
    assert voice.audio("welcome.title") is None  # no recording and no working engine: nothing is said


def test_every_refusal_and_hint_has_its_words():
    for code in ("face_mismatch", "multiple_faces", "consent_declined", "no_face", "server_unreachable"):
        assert PHRASES[f"refusal.{code}"]
    assert PHRASES["hint.many_faces"].startswith("只能一个人")
    with pytest.raises(ValueError):
        Voice(__import__("pathlib").Path("/tmp"), volume=101)
