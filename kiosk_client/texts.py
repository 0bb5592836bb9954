"""Short Chinese titles and icons for every refusal a worker can meet (the server's message goes below)."""

from __future__ import annotations

# code -> (title, icon); the icon names are drawn by web/static/app.js.
REFUSALS: dict[str, tuple[str, str]] = {
    "worker_not_found": ("没有找到您的信息", "person"),
    "invalid_citizen_id": ("身份证号不对", "card"),
    "not_enrolled": ("还没有登记照片", "camera"),
    "no_open_exam": ("现在没有您的考试", "calendar"),
    "no_attempts_left": ("考试次数已用完", "stop"),
    "already_passed": ("您已经通过了考试", "check"),
    "checkin_expired": ("时间太长了，请重新开始", "clock"),
    "checkin_not_found": ("请重新开始", "card"),
    "checkin_refused": ("请找现场工作人员", "staff"),
    "face_mismatch": ("人脸没有对上", "face"),
    "liveness_failed": ("没有看到要求的动作", "face"),
    "no_face": ("没有拍到人脸", "face"),
    "multiple_faces": ("画面里不止一个人", "people"),
    "face_too_small": ("离得太远了", "face"),
    "too_blurry": ("照片拍糊了", "face"),
    "too_dark": ("光线太暗", "light"),
    "overexposed": ("光线太强", "light"),
    "not_an_image": ("照片有问题", "camera"),
    "sitting_suspended": ("考试已暂停", "staff"),
    "sitting_closed": ("考试已经结束", "clock"),
    "sitting_elsewhere": ("考试已在另一台机器上继续", "screen"),
    "kiosk_unauthorized": ("本机暂时不能使用", "stop"),
    "kiosk_disabled": ("本机暂时不能使用", "stop"),
    "server_unreachable": ("网络不通", "wifi"),
    "face_busy": ("排队的人比较多", "clock"),
    "camera_failed": ("摄像头没有画面", "camera"),
    "internal_error": ("系统出了点问题", "stop"),
}
DEFAULT_REFUSAL = ("系统出了点问题", "stop")
# Said when the kiosk itself could not reach the server; the server's own messages cover its refusals.
MESSAGES = {
    "server_unreachable": "连接不上考试服务器。请稍等一会儿再试，或找现场工作人员。",
    "camera_failed": "摄像头没有画面。请找现场工作人员检查摄像头。",
    "kiosk_default": "请找现场工作人员帮助。",
}
# What the worker can do about a failed burst, said under the server's message.
ADVICE = {
    "face_mismatch": "请本人参加考试。如果是您本人，请摘下帽子和口罩，正对摄像头再试一次。",
    "liveness_failed": "请看着屏幕上的箭头，跟着提示慢慢做动作。",
    "no_face": "请站到摄像头正前方。",
    "multiple_faces": "请其他人离开画面。",
    "face_too_small": "请再靠近摄像头一点。",
    "too_dark": "请站到亮一点的地方。",
    "server_unreachable": "请稍等一会儿再试。",
    "face_busy": "请稍等一两分钟，再点“再试一次”。",
}
# Failed bursts that the worker may simply film again.
RETRYABLE = {
    "face_mismatch",
    "liveness_failed",
    "no_face",
    "multiple_faces",
    "face_too_small",
    "too_blurry",
    "too_dark",
    "overexposed",
    "not_an_image",
}


def refusal_view(code: str, message: str = "") -> dict:
    """Return what the refusal screen shows for a code."""
    title, icon = REFUSALS.get(code, DEFAULT_REFUSAL)
    return {
        "code": code,
        "title": title,
        "icon": icon,
        "advice": ADVICE.get(code, ""),
        "message": message or MESSAGES.get(code) or MESSAGES["kiosk_default"],
    }
