"""One JSON error shape for everything under /api/v1: {"error", "message", ...extra}."""

from __future__ import annotations

import logging

from flask import jsonify, request
from flask.sansio.app import App
from werkzeug.exceptions import HTTPException, default_exceptions

from exam_server.extensions import db
from exam_server.face.errors import IMAGE_CODES
from exam_server.services.exam.refusals import Refusal

PREFIX = "/api/v1/"
# code -> (HTTP status, what the kiosk shows when the service gave no more precise message)
CODES: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "请求格式不正确。"),
    "nonce_invalid": (400, "拍照请求无效，请等待下一次拍照提示。"),
    "kiosk_unauthorized": (401, "终端未授权，请联系管理员登记本终端。"),
    "kiosk_disabled": (403, "本终端已停用，请联系管理员。"),
    "checkin_refused": (403, "人证核验多次未通过，已提交人工审核，请联系现场工作人员。"),
    "not_found": (404, "请求的地址不存在。"),
    "worker_not_found": (404, "未找到该身份证号的从业人员，请联系所在企业登记。"),
    "checkin_not_found": (404, "入场核验记录不存在或已失效，请重新刷身份证。"),
    "sitting_not_found": (404, "考试记录不存在，请重新刷身份证。"),
    "question_not_on_paper": (404, "试卷中没有该题。"),
    "question_has_no_image": (404, "该题没有图片。"),
    "method_not_allowed": (405, "请求方法不正确。"),
    "not_enrolled": (409, "尚未登记人脸照片，请联系所在企业采集照片。"),
    "no_open_exam": (409, "当前没有需要您参加的考试。"),
    "no_attempts_left": (409, "考试次数已用完，请联系所在企业。"),
    "already_passed": (409, "您本次考试已合格，无需再考。"),
    "sitting_suspended": (409, "考试已暂停，等待工作人员审核，请联系现场工作人员。"),
    "sitting_closed": (409, "考试已结束（已交卷、已作废或时间已到）。"),
    "sitting_elsewhere": (409, "该考试已在其他终端继续进行。"),
    "consent_required": (409, "拍摄人脸前须经本人同意：请在终端上阅读告知并点“同意”。"),
    "consent_outdated": (409, "告知内容已更新，请重新阅读并同意。"),
    "nonce_used": (409, "该拍照请求已使用。"),
    "sitting_not_submitted": (409, "交卷以后才能设置登录密码。"),
    "pin_already_set": (409, "这次考试后已经设置过登录密码了。"),
    "face_not_confirmed": (409, "这次考试的人脸核验还需要工作人员确认，暂时不能设置登录密码。"),
    "checkin_expired": (410, "核验超时，请重新刷身份证。"),
    "nonce_expired": (410, "拍照超时，请等待下一次拍照提示。"),
    "pin_window_closed": (410, "交卷后设置登录密码的时间已经过了，这次不能再设置了。"),
    "payload_too_large": (413, "上传内容过大，请降低图像分辨率后重试。"),
    "invalid_citizen_id": (422, "身份证号无效，请重新刷卡或输入。"),
    "invalid_pin": (422, "密码须为6位数字，且不能过于简单，请重新输入。"),
    "face_mismatch": (422, "人脸与登记照片不符。"),
    "liveness_failed": (422, "未检测到要求的动作，请按提示重新完成。"),
    "replayed_frames": (422, "画面与此前拍摄的画面或登记照片相同（疑似重放），请本人按提示重新完成动作。"),
    **{code: (422, "图像不符合要求，请按提示重新拍摄。") for code in IMAGE_CODES},
    "rate_limited": (429, "请求过于频繁，请稍后再试。"),
    "face_busy": (503, "核验人脸的人比较多，请站在原地稍等，系统会自动重试。"),
    "internal_error": (500, "服务器内部错误，请稍后重试；如持续出现请联系管理员。"),
}
_HTTP_CODES = {400: "invalid_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
log = logging.getLogger(__name__)


def error_response(code: str, message: str = "", status: int | None = None, **extra):
    """Return the JSON error response for a code."""
    known_status, default_message = CODES.get(code, (status or 400, ""))
    response = jsonify(
        {"error": code, "message": message or default_message, **{k: v for k, v in extra.items() if v is not None}}
    )
    response.status_code = status or known_status
    if code == "kiosk_unauthorized":
        response.headers["WWW-Authenticate"] = 'Bearer realm="kiosk"'
    if extra.get("retry_after") is not None:
        response.headers["Retry-After"] = str(extra["retry_after"])
    return response


def _refusal(exc: Refusal):
    # A refusal that recorded a failed face check must keep that record; others leave no trace.
    (db.session.commit if exc.keep else db.session.rollback)()
    return error_response(exc.code, exc.message, **exc.extra)


def _http_error(exc: HTTPException):
    db.session.rollback()
    status = exc.code or 500  # every HTTPException raised carries its code; the bare base class would not
    code = _HTTP_CODES.get(status, "invalid_request" if status < 500 else "internal_error")
    message = "" if code in CODES and code != "invalid_request" else exc.description or ""
    response = error_response(code, message, status=status)
    allowed = getattr(exc, "valid_methods", None)
    if allowed:  # a 405 says which methods the path takes (RFC 9110)
        response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("kiosk API request failed: %s %s", request.method, request.path)
    db.session.rollback()
    return error_response("internal_error")


def install_on_blueprint(bp) -> None:
    """Register the handlers for the API's routes, per status code so app-wide pages cannot override them."""
    bp.register_error_handler(Refusal, _refusal)
    for status in default_exceptions:
        bp.register_error_handler(status, _http_error)
    bp.register_error_handler(Exception, _unexpected)


def install_on_app(app: App) -> None:
    """Answer in JSON for /api/v1 URLs no route matched, leaving other URLs to the previous handler."""
    for status in (404, 405):
        previous = app.error_handler_spec[None][status].get(default_exceptions[status])

        def handler(exc, _previous=previous):
            if request.path.startswith(PREFIX) or request.path == PREFIX.rstrip("/"):
                return _http_error(exc)
            return _previous(exc) if _previous else exc

        app.register_error_handler(status, handler)
