"""Spoken Mandarin for the screen: a bureau's own recordings where it has them, else espeak-ng's, made offline."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import threading
from collections import OrderedDict
from pathlib import Path

from kiosk_client.texts import Phrase, fixed_phrases

log = logging.getLogger(__name__)
ENGINE = "espeak-ng"
# espeak-ng's Mandarin voice (Debian package espeak-ng-data); words per minute, a little slower than its 175.
VOICE, RATE = "cmn", 150
RECORDING_SUFFIXES = (".wav", ".mp3", ".ogg", ".opus", ".m4a")
TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".ogg": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4"}
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
# A server sentence is remembered until this many others came after it (a visit says a few dozen).
REMEMBERED = 2000


class Voice:
    """Find or make the audio of each phrase: recordings/<key>.<ext> first, else a cached espeak-ng WAV."""

    def __init__(
        self,
        cache: Path,
        recordings: Path | None = None,
        volume: int = 80,
        engine: str | None = None,
        voice: str = VOICE,
        rate: int = RATE,
    ) -> None:
        if not 0 <= volume <= 100:
            raise ValueError(f"the volume is 0-100, not {volume}")
        self.cache = cache
        self.recordings = recordings
        self.volume = volume
        self.engine = shutil.which(engine or ENGINE)  # None when it is not installed
        self.voice, self.rate = voice, rate
        self._known: dict[str, str] = {p.key: p.text for p in fixed_phrases()}
        self._said: OrderedDict[str, str] = OrderedDict()  # phrases with numbers, and the server's sentences
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Tell whether anything can be said (an engine or a recordings folder)."""
        return bool(self.engine) or bool(self.recordings and self.recordings.is_dir())

    def remember(self, phrase: Phrase) -> None:
        """Let the screen ask for this phrase's audio (every phrase it shows passes here)."""
        if not _KEY.match(phrase.key):
            raise ValueError(f"phrase key {phrase.key!r} is not a file name")
        if phrase.key in self._known:
            return
        with self._lock:
            self._said[phrase.key] = phrase.text
            self._said.move_to_end(phrase.key)
            while len(self._said) > REMEMBERED:
                self._said.popitem(last=False)

    def audio(self, key: str) -> Path | None:
        """Return the audio file of a phrase the screen showed, made now if needed; None if there is none."""
        if not _KEY.match(key):
            return None
        recorded = self._recording(key)
        if recorded is not None:
            return recorded
        with self._lock:
            text = self._known.get(key) or self._said.get(key)
        if text is None or not self.engine:
            return None
        path = self._cached(key, text)
        if not path.exists():
            self._synthesize(text, path)
        return path

    def _recording(self, key: str) -> Path | None:
        if self.recordings is None:
            return None
        for suffix in RECORDING_SUFFIXES:
            path = self.recordings / f"{key}{suffix}"
            if path.is_file():
                return path
        return None

    def _cached(self, key: str, text: str) -> Path:
        # The text and the voice settings are in the name: a reworded phrase is made anew, never stale.
        digest = hashlib.sha1(f"{self.voice}|{self.rate}|{text}".encode()).hexdigest()[:10]
        return self.cache / f"{key}.{digest}.wav"

    def _synthesize(self, text: str, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part.wav")
        command = [self.engine or ENGINE, "-v", self.voice, "-s", str(self.rate), "-w", str(partial), "--", text]
        done = subprocess.run(command, capture_output=True, timeout=30, check=False)
        if done.returncode != 0 or not partial.exists() or partial.stat().st_size < 100:
            partial.unlink(missing_ok=True)
            raise VoiceError(f"{ENGINE} could not say {text!r}: {done.stderr.decode(errors='replace').strip()}")
        partial.replace(path)  # a half-written file is never served

    def build(self) -> tuple[int, int]:
        """Make every fixed phrase's audio ahead of use; return (made now, already there or recorded)."""
        made = ready = 0
        for phrase in fixed_phrases():
            if self._recording(phrase.key) is not None or self._cached(phrase.key, phrase.text).exists():
                ready += 1
                continue
            if not self.engine:
                raise VoiceError(f"{ENGINE} is not installed (apt-get install espeak-ng) and no recording exists")
            self._synthesize(phrase.text, self._cached(phrase.key, phrase.text))
            made += 1
        return made, ready

    @staticmethod
    def media_type(path: Path) -> str:
        """Return the Content-Type of an audio file."""
        return TYPES.get(path.suffix.lower(), "application/octet-stream")


class VoiceError(RuntimeError):
    """Raise when the speech engine fails on a phrase."""
