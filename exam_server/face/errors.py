"""Refusal reasons of the face engine: machine-readable codes with a Chinese kiosk message."""

from __future__ import annotations

MESSAGES_ZH: dict[str, str] = {
    "not_an_image": "无法读取图像：文件不是完整的 JPEG 或 PNG 图片，请重新拍摄或上传。",
    "unsupported_format": "不支持的图像格式，请使用 JPEG 或 PNG 图片。",
    "too_large": "图像文件过大，请压缩后重新上传。",
    "no_face": "未检测到人脸，请正对摄像头。",
    "multiple_faces": "检测到多张人脸，请确保画面中只有本人。",
    "face_too_small": "人脸过小，请靠近摄像头。",
    "face_cut_off": "人脸不完整，请让整张脸都在画面内。",
    "too_blurry": "图像模糊，请保持不动并擦拭镜头后重试。",
    "too_dark": "光线过暗，请到光线充足处重试。",
    "overexposed": "光线过强或曝光过度，请避开强光后重试。",
    "model_mismatch": "人脸模板与当前识别模型不一致，请联系管理员重新采集。",
    "liveness_expired": "活体检测已超时，请重新开始。",
    "liveness_too_few_frames": "活体检测画面不足，请按提示重新完成动作。",
    "liveness_too_many_frames": "活体检测画面过多，请重新开始。",
    "liveness_static": "未检测到真人动作（画面静止），请按提示完成动作。",
    "liveness_rigid": "检测到疑似照片翻拍，请本人按提示完成动作。",
    "liveness_movement_not_seen": "未检测到要求的动作，请按提示重新完成。",
    "liveness_face_changed": "动作过程中人脸不一致，请本人重新完成。",
    "face_mismatch": "人脸与登记信息不符。",
    "replayed_frames": "画面与此前拍摄的画面或登记照片相同（疑似重放），请本人按提示重新完成动作。",
}

# The refusals that say the image itself will not do (take another); the kiosk API answers them 422.
IMAGE_CODES = ("no_face", "multiple_faces", "face_too_small", "too_blurry", "too_dark", "overexposed", "not_an_image")

# An administrator uploading a photo needs other advice than a worker in front of the kiosk camera.
PHOTO_MESSAGES_ZH: dict[str, str] = {
    "no_face": "照片中未检测到人脸：请上传本人正面免冠、五官清楚的照片。",
    "multiple_faces": "照片中有多张人脸：请上传只有本人的照片（可先裁剪）。",
    "face_too_small": "照片中人脸过小：请上传人脸更大、分辨率更高的照片（人脸宽度至少{min_px}像素）。",
    "face_cut_off": "照片中人脸被边缘截断：请上传整张脸（包括额头、下巴和两颊）都在画面内的照片。",
    "too_blurry": "照片模糊：请换一张对焦清楚的照片。",
    "too_dark": "照片过暗：请换一张光线充足的照片。",
    "overexposed": "照片过亮或曝光过度：请换一张光线均匀的照片。",
}


def reason_zh(code: str | None) -> str:
    """Return a short Chinese reason for a refusal code (the first clause of its message), never the code."""
    if not code:
        return ""
    if code == "capture_missed":
        return "未按时拍照"
    return MESSAGES_ZH[code].split("，")[0].rstrip("。") if code in MESSAGES_ZH else "其他原因"


class FaceError(Exception):
    """Base class of face engine errors."""


class FaceRefusal(FaceError):
    """Refuse an image or a check for a named reason a kiosk can show."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        message_zh: str | None = None,
        limits: dict | None = None,
        frame: int | None = None,
    ) -> None:
        self.code = code
        self.detail = detail
        self.frame = frame  # which frame of a burst was refused (from 0), where a burst was judged
        self.limits = limits or {}  # the limit not met (e.g. min_px), for the photo message
        self.message_zh = message_zh or MESSAGES_ZH.get(code, "人脸核验失败，请重试。")
        super().__init__(f"{code}: {detail}" if detail else code)

    @property
    def photo_message_zh(self) -> str:
        """Return the message for an uploaded photo (console, batch), not for the kiosk camera."""
        try:
            return PHOTO_MESSAGES_ZH.get(self.code, self.message_zh).format(**self.limits)
        except KeyError:  # raised without the limit its message names: the camera's words still hold
            return self.message_zh

    def to_dict(self) -> dict[str, str]:
        """Return the refusal as a JSON-ready mapping."""
        return {"error": self.code, "message_zh": self.message_zh, "detail": self.detail}


class ModelMismatchError(FaceRefusal):
    """Refuse to compare vectors made by different embedding models."""

    def __init__(self, left: str, right: str) -> None:
        super().__init__("model_mismatch", f"cannot compare {left} with {right}")
        self.left = left
        self.right = right
