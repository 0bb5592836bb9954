"""Keep uploads between preview and confirmation as files under DATA_DIR (queued jobs keep theirs in the database)."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,6}$")
MAX_AGE_SECONDS = 2 * 24 * 3600


@dataclass
class Staged:
    """One staged folder: the uploaded file and a small JSON description."""

    token: str
    folder: Path
    meta: dict[str, Any]

    @property
    def upload(self) -> Path:
        return self.folder / self.meta["stored_name"]


def _kind_root(data_dir: str | Path, kind: str) -> Path:
    return Path(data_dir) / kind


def stage(data_dir: str | Path, kind: str, stream: IO[bytes], filename: str, meta: dict[str, Any]) -> Staged:
    """Save an uploaded stream in a fresh private folder of ``kind`` (imports, jobs) and return it."""
    purge_old(data_dir, kind)
    token = secrets.token_hex(16)
    folder = _kind_root(data_dir, kind) / token
    folder.mkdir(parents=True, mode=0o750)
    suffix = Path(filename or "").suffix.lower()
    stored = "upload" + (suffix if _SUFFIX.match(suffix) else "")
    with open(folder / stored, "wb") as handle:
        shutil.copyfileobj(stream, handle, 1024 * 1024)
    full = {"filename": (filename or "")[:200], "stored_name": stored, "created": time.time(), **meta}
    write_json(folder / "meta.json", full)
    return Staged(token, folder, full)


def load(data_dir: str | Path, kind: str, token: str, user_id: int) -> Staged | None:
    """Return the staged folder if it exists and belongs to this user, else None."""
    if not _TOKEN.match(token or ""):
        return None
    folder = _kind_root(data_dir, kind) / token
    meta = read_json(folder / "meta.json")
    if meta is None or meta.get("user_id") != user_id:
        return None
    return Staged(token, folder, meta)


def discard(staged: Staged) -> None:
    """Delete a staged folder and everything in it."""
    shutil.rmtree(staged.folder, ignore_errors=True)


def purge_old(data_dir: str | Path, kind: str, max_age: float = MAX_AGE_SECONDS) -> None:
    """Delete staged folders older than ``max_age`` seconds."""
    root = _kind_root(data_dir, kind)
    if not root.is_dir():
        return
    cutoff = time.time() - max_age
    for folder in root.iterdir():
        if folder.is_dir() and _TOKEN.match(folder.name) and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON atomically, so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    """Return the JSON object stored at ``path``, or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
