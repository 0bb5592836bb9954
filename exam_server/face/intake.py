"""Decode uploaded image bytes into an RGB array, refusing what is not a usable picture."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from .errors import FaceRefusal
from .settings import FaceSettings

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"
_ROTATIONS = {3: cv2.ROTATE_180, 6: cv2.ROTATE_90_CLOCKWISE, 8: cv2.ROTATE_90_COUNTERCLOCKWISE}


@dataclass(frozen=True)
class DecodedImage:
    """An upright RGB picture, possibly downscaled from the original for analysis."""

    rgb: np.ndarray
    format: str
    original_width: int
    original_height: int
    scale: float

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def sniff_format(data: bytes) -> str | None:
    """Return "JPEG" or "PNG" from the magic bytes, else None."""
    if data.startswith(_JPEG_MAGIC):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    return None


def decode_image(data: bytes, settings: FaceSettings, max_side: int | None = None) -> DecodedImage:
    """Decode JPEG/PNG bytes to upright RGB uint8, applying byte, pixel and format limits."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FaceRefusal("not_an_image", f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > settings.max_bytes:
        raise FaceRefusal("too_large", f"{len(data)} bytes > limit {settings.max_bytes}")
    if len(data) < 8:
        raise FaceRefusal("not_an_image", f"only {len(data)} bytes")
    fmt = sniff_format(data)
    header = _read_header(data)
    if fmt is None:
        if header is not None:
            raise FaceRefusal("unsupported_format", f"{header.format} is not one of {settings.allowed_formats}")
        raise FaceRefusal("not_an_image", "neither JPEG nor PNG magic bytes")
    if fmt not in settings.allowed_formats:
        raise FaceRefusal("unsupported_format", f"{fmt} is not one of {settings.allowed_formats}")
    if header is None:
        raise FaceRefusal("not_an_image", f"unreadable {fmt} header")
    width, height = header.size
    if width * height > settings.max_pixels:
        raise FaceRefusal("too_large", f"{width}x{height} pixels > limit {settings.max_pixels}")
    _require_complete(data, fmt)

    side = max_side if max_side is not None else settings.work_max_side
    has_alpha = header.mode in ("RGBA", "LA", "PA") or (header.mode == "P" and "transparency" in header.info)
    buf = np.frombuffer(data, np.uint8)
    if has_alpha or header.mode in ("I;16", "I;16B", "I"):
        raw = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        if raw is None:
            raise FaceRefusal("not_an_image", f"{fmt} data does not decode")
        bgr = _to_bgr8(raw)
        bgr = _apply_orientation(bgr, header)
    else:
        # Decoding at 1/2, 1/4 or 1/8 is much cheaper than decoding big photos fully then shrinking.
        decoded = cv2.imdecode(buf, _reduced_flag(fmt, width, height, side))
        if decoded is None:
            raise FaceRefusal("not_an_image", f"{fmt} data does not decode")
        bgr = decoded
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    up_w, up_h = (height, width) if _orientation(header) in (5, 6, 7, 8) else (width, height)
    longest = max(rgb.shape[:2])
    if side and longest > side:
        factor = side / longest
        rgb = cv2.resize(
            rgb,
            (max(1, round(rgb.shape[1] * factor)), max(1, round(rgb.shape[0] * factor))),
            interpolation=cv2.INTER_AREA,
        )
    return DecodedImage(np.ascontiguousarray(rgb), fmt, up_w, up_h, rgb.shape[1] / up_w)


def _read_header(data: bytes) -> Image.Image | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as exc:
            raise FaceRefusal("too_large", str(exc)) from exc
        except Exception:
            return None


def _require_complete(data: bytes, fmt: str) -> None:
    # libjpeg may fill a truncated scan with grey instead of failing, so look for the end marker ourselves.
    # It cannot occur inside entropy-coded data (0xFF is stuffed there), so it must follow the last scan;
    # bytes some cameras append after it are fine.
    if fmt == "JPEG":
        last_scan = data.rfind(b"\xff\xda")
        if last_scan < 0 or data.find(b"\xff\xd9", last_scan) < 0:
            raise FaceRefusal("not_an_image", "JPEG is truncated (no end-of-image marker after the last scan)")
    if fmt == "PNG" and not data.rstrip(b"\x00\r\n\t ").endswith(_PNG_END):
        raise FaceRefusal("not_an_image", "PNG is truncated (no IEND chunk)")


def _reduced_flag(fmt: str, width: int, height: int, side: int | None) -> int:
    if fmt != "JPEG" or not side:
        return cv2.IMREAD_COLOR
    longest = max(width, height)
    for factor, flag in (
        (8, cv2.IMREAD_REDUCED_COLOR_8),
        (4, cv2.IMREAD_REDUCED_COLOR_4),
        (2, cv2.IMREAD_REDUCED_COLOR_2),
    ):
        if longest / factor >= side:
            return flag
    return cv2.IMREAD_COLOR


def _to_bgr8(raw: np.ndarray) -> np.ndarray:
    if raw.dtype != np.uint8:
        raw = (raw / 257).astype(np.uint8) if raw.dtype == np.uint16 else cv2.convertScaleAbs(raw)
    if raw.ndim == 2:
        return cv2.cvtColor(raw, cv2.COLOR_GRAY2BGR)
    if raw.shape[2] == 4:
        # Transparent pixels hold arbitrary colour: put the picture on white as a printed photo would be.
        alpha = raw[:, :, 3:4].astype(np.float32) / 255.0
        return (raw[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    if raw.shape[2] == 2:
        grey = raw[:, :, :1].astype(np.float32)
        alpha = raw[:, :, 1:2].astype(np.float32) / 255.0
        return cv2.cvtColor((grey * alpha + 255.0 * (1 - alpha)).round().astype(np.uint8), cv2.COLOR_GRAY2BGR)
    return raw


def _orientation(header: Image.Image) -> int:
    try:
        return int(header.getexif().get(0x0112, 1))
    except Exception:
        return 1


def _apply_orientation(bgr: np.ndarray, header: Image.Image) -> np.ndarray:
    orientation = _orientation(header)
    if orientation in (2, 4, 5, 7):
        bgr = cv2.flip(bgr, 1)
        orientation = {2: 1, 4: 3, 5: 8, 7: 6}[orientation]
    rotation = _ROTATIONS.get(orientation)
    return cv2.rotate(bgr, rotation) if rotation is not None else bgr
