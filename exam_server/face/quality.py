"""Measure how usable a detected face is: size, sharpness and exposure."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from .detection import FaceBox
from .errors import FaceRefusal
from .settings import FaceSettings

# Sharpness is measured on the face resized to this width, so that it does not depend on face size.
_SHARPNESS_WIDTH = 128


@dataclass(frozen=True)
class QualityFigures:
    """Measured figures of one face."""

    face_width: int
    face_height: int
    sharpness: float
    brightness: float
    detector_score: float
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    eye_aspect_ratio: float = 0.0
    # Share of the central face's pixels at grey level 250 or more: detail lost to glare.
    clipped: float = 0.0
    # Share of the detected face box inside the image (below 1: the frame's edge cuts the face).
    in_frame: float = 1.0

    def to_dict(self) -> dict[str, float]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def face_patch(grey: np.ndarray, box: FaceBox) -> np.ndarray:
    """Return the grey pixels inside the box, clipped to the image."""
    b = box.clipped(grey.shape[1], grey.shape[0])
    return grey[b.top : b.bottom, b.left : b.right]


def sharpness(patch: np.ndarray) -> float:
    """Return the variance of the Laplacian of the face at a fixed width."""
    if patch.size == 0:
        return 0.0
    height = max(1, round(patch.shape[0] * _SHARPNESS_WIDTH / patch.shape[1]))
    interpolation = cv2.INTER_AREA if patch.shape[1] > _SHARPNESS_WIDTH else cv2.INTER_LINEAR
    scaled = cv2.resize(patch, (_SHARPNESS_WIDTH, height), interpolation=interpolation)
    return float(cv2.Laplacian(scaled, cv2.CV_32F).var())


def brightness(patch: np.ndarray) -> float:
    """Return the mean grey level of the central part of the face (hair and background excluded)."""
    if patch.size == 0:
        return 0.0
    h, w = patch.shape[:2]
    inner = patch[h // 5 : h - h // 5, w // 5 : w - w // 5]
    return float((inner if inner.size else patch).mean())


def clipped_share(patch: np.ndarray) -> float:
    """Return the share of the central face's pixels that are saturated (grey 250 or more)."""
    if patch.size == 0:
        return 0.0
    h, w = patch.shape[:2]
    inner = patch[h // 5 : h - h // 5, w // 5 : w - w // 5]
    return float(((inner if inner.size else patch) >= 250).mean())


def check_exposure(value: float, settings: FaceSettings, what: str = "face", clipped: float = 0.0) -> None:
    """Refuse a too dark or overexposed face (or frame).

    Overexposed means detail lost: a quarter of the face saturated, or a mean grey level above
    max_brightness. Pale or made-up skin in good light has a high mean and nothing saturated: the old
    rule (mean above 215) refused 8 such faces of the development sets that anybody would accept.
    """
    if value < settings.min_brightness:
        raise FaceRefusal("too_dark", f"{what} brightness {value:.1f} < {settings.min_brightness}")
    if value > settings.max_brightness:
        raise FaceRefusal("overexposed", f"{what} brightness {value:.1f} > {settings.max_brightness}")
    if clipped > settings.max_clipped_share:
        raise FaceRefusal(
            "overexposed", f"{what}: {100 * clipped:.0f}% saturated > {100 * settings.max_clipped_share:.0f}%"
        )


def in_frame_share(box: FaceBox, width: int, height: int) -> float:
    """Return the share of the face box's area that lies inside a width x height image."""
    area = box.width * box.height
    inside = box.clipped(width, height)
    return max(0, inside.width) * max(0, inside.height) / area if area > 0 else 0.0


def check_quality(figures: QualityFigures, kind: str, settings: FaceSettings) -> None:
    """Refuse a face that is too small, badly exposed or blurred for this kind of image."""
    if kind == "upload" and figures.in_frame < settings.min_face_in_frame_upload:
        raise FaceRefusal(
            "face_cut_off",
            f"{100 * (1 - figures.in_frame):.0f}% of the face outside the photo "
            f"(at least {100 * settings.min_face_in_frame_upload:.0f}% must be inside)",
        )
    min_px = {"live": settings.min_face_px_live, "id_card": settings.min_face_px_id_card}.get(
        kind, settings.min_face_px_upload
    )
    if figures.face_width < min_px:
        raise FaceRefusal(
            "face_too_small", f"face {figures.face_width} px wide < {min_px} px", limits={"min_px": min_px}
        )
    check_exposure(figures.brightness, settings, clipped=figures.clipped)
    min_sharp = {"live": settings.min_sharpness_live, "id_card": settings.min_sharpness_id_card}.get(
        kind, settings.min_sharpness_upload
    )
    if figures.sharpness < min_sharp:
        raise FaceRefusal("too_blurry", f"sharpness {figures.sharpness:.1f} < {min_sharp}")


def describe_upload(quality: dict, settings: FaceSettings) -> list[tuple[str, str]]:
    """Explain an uploaded photo's figures in Chinese, each beside the limit it had to meet."""
    width, sharp, light = quality.get("face_width"), quality.get("sharpness"), quality.get("brightness")
    rows = []
    if width is not None:
        rows.append(("人脸宽度", f"{width} 像素（要求不小于 {settings.min_face_px_upload} 像素）"))
    if sharp is not None:
        rows.append(("清晰度", f"{sharp:.0f}（要求不低于 {settings.min_sharpness_upload:.0f}，数值越大越清楚）"))
    if light is not None:
        rows.append(
            (
                "亮度",
                f"{light:.0f}（合格范围 {settings.min_brightness:.0f}–{settings.max_brightness:.0f}，"
                "0 为全黑，255 为全白）",
            )
        )
    return rows
