"""Pictures of questions (safety signs, hazard labels): checked, re-encoded and kept outside public URLs."""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from exam_server.database import DbSession
from exam_server.models import N_, DomainError, Question, User
from exam_server.services import audit

FOLDER = "question_images"
MAX_BYTES = 2 * 1024 * 1024  # a sign or a label is a few hundred KB; a kiosk loads it mid-exam
MIN_SIDE, MAX_SIDE = 64, 4000  # smaller is unreadable on the kiosk screen; larger is a camera photo, not a sign
_FORMATS = {"PNG": "png", "JPEG": "jpg"}


def checked(data: bytes) -> tuple[bytes, str]:
    """Return the picture re-encoded (no metadata, no trailing bytes) and its extension; DomainError says why not."""
    if not data:
        raise DomainError(N_("图片文件为空"))
    if len(data) > MAX_BYTES:
        raise DomainError(
            N_("图片 %(size).1f MB，超过上限 %(limit)d MB"), size=len(data) / 1048576, limit=MAX_BYTES // 1048576
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                kind = probe.format or ""
                probe.verify()  # a truncated or corrupt file fails here, before it is decoded in full
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                picture = image.convert("RGBA" if kind == "PNG" else "RGB")
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError, OSError, SyntaxError):
        raise DomainError(N_("无法识别的图片：请上传 PNG 或 JPEG 图片")) from None
    if kind not in _FORMATS:
        raise DomainError(N_("不支持的图片格式 %(kind)s：请上传 PNG 或 JPEG 图片"), kind=kind)
    width, height = picture.size
    if min(width, height) < MIN_SIDE:
        raise DomainError(
            N_("图片 %(width)s×%(height)s 像素太小，短边至少 %(min)s 像素才能在考试终端上看清"),
            width=width,
            height=height,
            min=MIN_SIDE,
        )
    if max(width, height) > MAX_SIDE:
        raise DomainError(
            N_("图片 %(width)s×%(height)s 像素太大，长边不超过 %(max)s 像素"), width=width, height=height, max=MAX_SIDE
        )
    out = io.BytesIO()
    if kind == "PNG":
        picture.save(out, "PNG", optimize=True)
    else:
        picture.save(out, "JPEG", quality=90)
    return out.getvalue(), _FORMATS[kind]


def path_of(data_dir: str | Path, name: str) -> Path | None:
    """Return the stored file of a picture name, or None when the name is not one this module writes."""
    stem, _, ext = name.partition(".")
    if len(stem) != 64 or not all(c in "0123456789abcdef" for c in stem) or ext not in _FORMATS.values():
        return None
    path = Path(data_dir) / FOLDER / name
    return path if path.is_file() else None


def attach(session: DbSession, row: Question, data: bytes, data_dir: str | Path, user: User) -> str:
    """Check and store a picture for the question (a new version); return its stored name."""
    picture, ext = checked(data)
    name = f"{hashlib.sha256(picture).hexdigest()}.{ext}"
    folder = Path(data_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():  # named by content: the same picture is stored once, and never rewritten
        temporary = folder / f".{name}.tmp"
        temporary.write_bytes(picture)
        temporary.replace(target)
    if row.image != name:
        row.image, row.version = name, row.version + 1
        audit.record(session, "question_image_set", target=row, user_id=user.id, detail={"code": row.code})
    return name


def detach(session: DbSession, row: Question, user: User) -> bool:
    """Take the picture off the question (papers already drawn keep it); return whether it changed."""
    if row.image is None:
        return False
    row.image, row.version = None, row.version + 1
    audit.record(session, "question_image_removed", target=row, user_id=user.id, detail={"code": row.code})
    return True
