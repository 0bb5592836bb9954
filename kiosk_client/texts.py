"""Every word the kiosk shows or says: the screen draws these texts and the voice speaks the same ones.

A phrase has a key (the file name of its recording, `docs/kiosk.md`) and its text. Fixed phrases are
listed in PHRASES; a phrase with numbers in it takes them into its key (`consent.keep-180`), and a
sentence of the server's (a refusal's message, a challenge step) gets a key from its text.
`lines(screen, data)` gives the sentences of a screen by role, and SPOKEN the roles it says, in order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# Bumped when the consent wording changes: the server records which notice the worker accepted.
CONSENT_NOTICE_VERSION = "2026-12-v1"

PHRASES: dict[str, str] = {
    # the frame around every screen
    "brand": "安全生产培训考试",
    "ui.large_on": "大字",
    "ui.large_off": "正常字",
    "ui.sound_on": "声音开",
    "ui.sound_off": "声音关",
    "ui.offline": "网络中断 · 答案已保存在本机",
    "ui.home": "返回首页",
    "ui.wait": "请稍等…",
    # welcome
    "welcome.title": "欢迎参加安全生产培训考试",
    "welcome.step1": "刷身份证",
    "welcome.step2": "对着摄像头",
    "welcome.step3": "答题交卷",
    "welcome.say": "请把身份证放在读卡器上，或者点下面的按钮。",
    "welcome.start": "开始考试",
    "welcome.practice": "练习题目（不算考试）",
    # consent (PIPL art. 29): what is filmed, why, how long it is kept, who sees it
    "consent.title": "拍照核验之前，请您知道",
    "consent.what": "拍什么：考试前和考试中，摄像头会拍您的脸。",
    "consent.why": "为什么拍：核对是您本人在考试，防止别人替考。",
    "consent.keep": "存多久：照片保存{days}天，到期删除（正在审核的除外）。",
    "consent.who": "谁能看：只有应急管理部门负责审核的工作人员，在核对有疑问时才能看。考点和企业的人看不到。",
    "consent.ask": "您同意拍照吗？",
    "consent.accept": "同意，开始",
    "consent.decline": "不同意",
    "consent.loading": "请稍等…",
    # ID
    "id.title": "请输入身份证号",
    "id.say": "输错了，点“删除”键；输完了，点“确定”。",
    "id.error": "身份证号不对，请再看一下。18位，最后一位可能是X。",
    "id.delete": "删除",
    "id.back": "返回",
    "id.confirm": "确定",
    "checking_in.say": "正在查询您的考试，请稍等。",
    # camera guidance
    "guidance.hello": "{name}，您好",
    "guidance.exam": "共{questions}题，{minutes}分钟",
    "guidance.resuming": "（继续上次的考试）",
    "guidance.say": "请站到摄像头前，看着屏幕。好了就点“我准备好了”。",
    "guidance.tip1": "只能一个人",
    "guidance.tip2": "离摄像头近一点",
    "guidance.tip3": "光线要亮",
    "guidance.tip4": "眼睛看摄像头",
    "guidance.ready": "我准备好了",
    # what the camera check says about the current frame (kiosk_client/guidance.py)
    "hint.ok": "很好，请保持不动",
    "hint.no_face": "请站到摄像头前，看着屏幕",
    "hint.many_faces": "只能一个人，请其他人离开",
    "hint.come_closer": "请再靠近一点",
    "hint.too_close": "请往后退一点",
    "hint.more_light": "太暗了，请站到亮一点的地方",
    "hint.too_bright": "光太强了，请避开强光",
    "hint.look_at_camera": "请正对摄像头",
    "hint.no_camera": "摄像头没有画面，请联系工作人员",
    # liveness challenge
    "challenge.say": "请看着屏幕，跟着提示做动作。",
    "challenge.countdown": "准备好，看着摄像头",
    "challenge.recording": "正在拍摄，请照着做",
    "verifying.say": "正在核对人脸，请稍等。",
    "verifying.queued": "排队核对的人比较多，大约{seconds}秒后自动再核对一次。请站在原地，不用重新拍照。",
    "retry.attempts": "还可以再试{attempts}次",
    "retry.again": "再试一次",
    # the optional sign-in PIN for the worker's phone (practice), offered on the result screen after the exam
    "pin.result_offer": "想用手机练习，请点“设置登录密码”。",
    "pin.offer_button": "设置登录密码",
    "pin.offer_title": "设置登录密码（手机练习用）",
    "pin.offer_what": "设置一个6位数字的登录密码，以后用手机登录，就能自己练习做题，查成绩和证书。",
    "pin.offer_qr": "也可以用手机扫这个二维码，直接登录练习，不用密码。10分钟内有效，只能用一次。",
    "pin.offer_note": "不设置也可以，考试已经交卷了。设置大约要一分钟。",
    "pin.offer_say": "要设置，点“设置密码”；不设置，点“不用了”。",
    "pin.start": "设置密码",
    "pin.skip": "不用了",
    "pin.first_title": "请输入6位数字密码",
    "pin.again_title": "请再输入一遍，确认密码",
    "pin.say": "输错了，点“删除”键；输满6位，点“确定”。",
    "pin.tip": "不要用生日、身份证号后6位，也不要用111111、123456这样的密码。",
    "pin.short": "密码要输满6位数字。",
    "pin.mismatch": "两次输入的密码不一样，请重新输入。",
    "pin.delete": "删除",
    "pin.confirm": "确定",
    "pin.saving": "正在设置密码，请稍等。",
    "pin.done_title": "登录密码设置好了",
    "pin.done_how": "用手机打开下面的网址，或者扫二维码，输入身份证号和刚才的6位密码，就能登录练习。",
    "pin.done_remember": "请记住密码。忘了也没关系，下次考试交卷后，可以在考试终端重新设置。",
    "pin.done_say": "好了，请点“完成”。",
    "pin.finish": "完成",
    "pin.failed_title": "密码没有设置成功",
    "pin.failed_unreachable": "连接不上考试服务器，密码没有设置。",
    "pin.failed_say": "考试成绩不受影响，请点“完成”。下次考试交卷后，可以在考试终端再设置。",
    # exam
    "exam.say": "考试开始了。点一下选项就是作答，点“下一题”继续。",
    "exam.progress": "第{number}题 / 共{total}题",
    "exam.single": "单选题",
    "exam.multiple": "多选题（可选多个）",
    "exam.truefalse": "判断题",
    "exam.read": "读题",
    "exam.prev": "上一题",
    "exam.next": "下一题",
    "exam.card": "答题卡",
    "exam.to_review": "去交卷",
    "exam.saved": "答案已自动保存",
    "exam.saved_offline": "网络断了，答案已保存在本机，请继续答题",
    "exam.left": "剩余",
    "capture.taking": "正在拍照核对",
    "capture.notice": "刚才拍了一张照片，核对是您本人在考试。请继续答题。",
    "review.title": "答题卡",
    "review.say": "绿色的已经答了，黄色的还没答。点数字可以回去改，都答完了就点“交卷”。",
    "review.done": "已答{count}题",
    "review.todo": "没答{count}题",
    "review.back": "回去答题",
    "review.submit": "交卷",
    "confirm.title": "确定交卷吗？",
    "confirm.left": "还有{count}题没有答。",
    "confirm.final": "交卷后不能再修改。",
    "confirm.cancel": "再看看",
    "confirm.submit": "确定交卷",
    "submitting.say": "正在交卷，请稍等。",
    "submitting.offline": "网络中断了。您的答案已安全保存在本机，网络恢复后会自动交卷，请不要离开。",
    # result
    "result.passed": "恭喜您，考试合格",
    "result.failed": "这次没有通过",
    "result.score": "{score}分",
    "result.mark": "您得了{score}分，满分{max_score}分，{pass_mark}分及格。",
    "result.certificate": "证书编号：{number}",
    "result.issued_on": "发证日期：{date}",
    "result.valid_until": "有效期至：{date}",
    "result.qr": "证书已经发给您了。用手机扫这个二维码，可以查证书。",
    "result.review": "做错的{count}道题，看看正确答案：",
    "result.review_none": "全部答对了。",
    "result.yours": "您选的：{letters}",
    "result.right": "正确答案：{letters}",
    "result.none": "没有答",
    "result.basis": "依据：{basis}",
    "result.retake": "还可以再考{attempts}次。现在重新刷身份证就能再考，最晚到{date}。",
    "result.no_retake": "考试次数已经用完了，请找您单位的安全管理员。",
    "result.weakest": "要多复习这几类题：{categories}",
    "result.done": "完成",
    # refusals: titles and what to do, under the server's message
    "refusal.worker_not_found": "没有找到您的信息",
    "refusal.invalid_citizen_id": "身份证号不对",
    "refusal.not_enrolled": "还没有登记照片",
    "refusal.no_open_exam": "现在没有您的考试",
    "refusal.no_attempts_left": "考试次数已用完",
    "refusal.already_passed": "您已经通过了考试",
    "refusal.checkin_expired": "时间太长了，请重新开始",
    "refusal.checkin_not_found": "请重新开始",
    "refusal.checkin_refused": "请找现场工作人员",
    "refusal.consent_declined": "您没有同意拍照",
    "refusal.consent_required": "需要您先同意拍照",
    "refusal.consent_outdated": "告知内容更新了",
    "refusal.face_mismatch": "人脸没有对上",
    "refusal.liveness_failed": "没有看到要求的动作",
    "refusal.no_face": "没有拍到人脸",
    "refusal.multiple_faces": "画面里不止一个人",
    "refusal.face_too_small": "离得太远了",
    "refusal.too_blurry": "照片拍糊了",
    "refusal.too_dark": "光线太暗",
    "refusal.overexposed": "光线太强",
    "refusal.not_an_image": "照片有问题",
    "refusal.sitting_suspended": "考试已暂停",
    "refusal.sitting_closed": "考试已经结束",
    "refusal.sitting_elsewhere": "考试已在另一台机器上继续",
    "refusal.kiosk_unauthorized": "本机暂时不能使用",
    "refusal.kiosk_disabled": "本机暂时不能使用",
    "refusal.server_unreachable": "网络不通",
    "refusal.face_busy": "排队的人比较多",
    "refusal.camera_failed": "摄像头没有画面",
    "refusal.internal_error": "系统出了点问题",
    # said when the kiosk itself knows why (the server's own message covers its refusals)
    "message.server_unreachable": "连接不上考试服务器。请稍等一会儿再试，或找现场工作人员。",
    "message.camera_failed": "摄像头没有画面。请找现场工作人员检查摄像头。",
    "message.consent_declined": "没有您的同意，本机不能为您核验身份，也不能考试。",
    "message.default": "请找现场工作人员帮助。",
    "advice.consent_declined": "如果需要别的办法，请找现场工作人员，或者您单位的安全管理员。",
    "advice.face_mismatch": "请本人参加考试。如果是您本人，请摘下帽子和口罩，正对摄像头再试一次。",
    "advice.liveness_failed": "请看着屏幕上的提示，跟着慢慢做动作。",
    "advice.no_face": "请站到摄像头正前方。",
    "advice.multiple_faces": "请其他人离开画面。",
    "advice.face_too_small": "请再靠近摄像头一点。",
    "advice.too_dark": "请站到亮一点的地方。",
    "advice.server_unreachable": "请稍等一会儿再试。",
    "advice.face_busy": "请稍等一两分钟，再点“再试一次”。",
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
# Icons drawn by web/static/icons.js for each refusal (the rest: "stop").
ICONS = {
    "worker_not_found": "person",
    "invalid_citizen_id": "card",
    "not_enrolled": "camera",
    "no_open_exam": "calendar",
    "no_attempts_left": "stop",
    "already_passed": "check",
    "checkin_expired": "clock",
    "checkin_not_found": "card",
    "checkin_refused": "staff",
    "consent_declined": "staff",
    "face_mismatch": "face",
    "liveness_failed": "face",
    "no_face": "face",
    "multiple_faces": "people",
    "face_too_small": "face",
    "too_blurry": "face",
    "too_dark": "light",
    "overexposed": "light",
    "not_an_image": "camera",
    "sitting_suspended": "staff",
    "sitting_closed": "clock",
    "sitting_elsewhere": "screen",
    "server_unreachable": "wifi",
    "face_busy": "clock",
    "camera_failed": "camera",
}
# The roles each screen says when it appears, in order (the guidance hint and notices are said as they change).
SPOKEN: dict[str, list[str]] = {
    "welcome": ["title", "say"],
    "consent_loading": [],
    "consent": ["title", "what", "why", "keep", "who", "ask"],
    "id_entry": ["title", "say", "error"],
    "checking_in": ["say"],
    "guidance": ["say"],
    "challenge": ["steps", "say", "recording"],
    "verifying": ["say", "queued"],
    "retry": ["title", "message", "advice", "attempts"],
    "pin_offer": ["title", "what", "qr", "note", "say"],
    "pin_entry": ["error", "title", "tip", "say"],
    "pin_saving": ["say"],
    "pin_done": ["title", "how", "remember", "say"],
    "pin_failed": ["title", "message", "say"],
    "exam": ["say"],
    "review": ["say"],
    "submitting": ["say", "offline"],
    "result": ["verdict", "mark", "qr", "retake", "weakest", "pin"],
    "refusal": ["title", "message", "advice"],
}


@dataclass(frozen=True)
class Phrase:
    """A sentence of the screen: the key of its recording and its text."""

    key: str
    text: str

    def to_dict(self) -> dict:
        """Return the phrase for the screen."""
        return {"key": self.key, "text": self.text}


def phrase(key: str, **values: object) -> Phrase:
    """Return a fixed phrase, its numbers filled in and named in its key."""
    text = PHRASES[key].format(**values) if values else PHRASES[key]
    if values:
        key = key + "-" + "-".join(_slug(v) for v in values.values())
    return Phrase(key, text)


def spoken(text: str) -> Phrase:
    """Return a sentence that is not one of ours (the server's message, a challenge step) as a phrase."""
    return Phrase("m-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:12], text)


def _slug(value: object) -> str:
    text = str(value)
    if all(c.isascii() and (c.isalnum() or c in ".") for c in text) and len(text) <= 24:
        return text
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def refusal_view(code: str, message: str = "") -> dict:
    """Return what the refusal screen shows for a code."""
    title = PHRASES.get(f"refusal.{code}", PHRASES["refusal.internal_error"])
    fallback = PHRASES.get(f"message.{code}", PHRASES["message.default"])
    return {
        "code": code,
        "title": title,
        "icon": ICONS.get(code, "stop"),
        "advice": PHRASES.get(f"advice.{code}", ""),
        "message": message or fallback,
    }


def _refusal_lines(data: dict) -> dict[str, Phrase]:
    code = data.get("code", "")
    lines = {
        "title": Phrase(f"refusal.{code}", data["title"])
        if PHRASES.get(f"refusal.{code}") == data.get("title")
        else spoken(data.get("title", "")),
        "message": _known_or_spoken(data.get("message", "")),
    }
    if data.get("advice"):
        lines["advice"] = phrase(f"advice.{code}") if f"advice.{code}" in PHRASES else spoken(data["advice"])
    if data.get("attempts_left") is not None:
        lines["attempts"] = phrase("retry.attempts", attempts=data["attempts_left"])
    return lines


def _known_or_spoken(text: str) -> Phrase:
    """Return our own phrase when the text is one (so a bureau's recording is used), else the text as said."""
    for key, known in PHRASES.items():
        if known == text and key.startswith("message."):
            return Phrase(key, text)
    return spoken(text)


def challenge_steps(challenge: dict) -> list[dict]:
    """Return the challenge's steps, each with its kind and instruction, whatever form the server sent."""
    steps = challenge.get("steps")
    if steps:
        return [
            {"kind": str(s.get("kind", "")), "instruction": str(s.get("instruction") or s.get("prompt") or "")}
            for s in steps
        ]
    return [{"kind": str(challenge.get("kind", "")), "instruction": str(challenge.get("prompt", ""))}]


def _result_lines(result: dict) -> dict[str, Phrase]:
    number = _number
    lines = {
        "verdict": phrase("result.passed" if result["passed"] else "result.failed"),
        "score": phrase("result.score", score=number(result["score"])),
        "mark": phrase(
            "result.mark",
            score=number(result["score"]),
            max_score=number(result["max_score"]),
            pass_mark=number(result["pass_mark"]),
        ),
    }
    certificate = result.get("certificate")
    if certificate:
        lines["certificate"] = phrase("result.certificate", number=certificate["number"])
        lines["issued_on"] = phrase("result.issued_on", date=certificate["issued_on"])
        lines["valid_until"] = phrase("result.valid_until", date=certificate["valid_until"])
        lines["qr"] = phrase("result.qr")
    review = result.get("review")
    if review is not None:
        lines["review"] = phrase("result.review", count=len(review)) if review else phrase("result.review_none")
    retake = result.get("retake")
    if retake is not None:
        if retake.get("attempts_left") and retake.get("opens_at"):
            lines["retake"] = phrase("result.retake", attempts=retake["attempts_left"], date=retake["closes_local"])
        else:
            lines["retake"] = phrase("result.no_retake")
        weak = [c["category"] for c in result.get("categories", []) if c["score"] < c["max_score"]][:3]
        if weak:
            lines["weakest"] = phrase("result.weakest", categories="、".join(weak))
    return lines


def _number(value: float) -> str:
    return f"{value:g}"


def _consent_lines(data: dict) -> dict[str, Phrase]:
    return {
        "title": phrase("consent.title"),
        "what": phrase("consent.what"),
        "why": phrase("consent.why"),
        "keep": phrase("consent.keep", days=data["retention_days"]),
        "who": phrase("consent.who"),
        "ask": phrase("consent.ask"),
    }


def _id_lines(data: dict) -> dict[str, Phrase]:
    found = {"title": phrase("id.title"), "say": phrase("id.say")}
    if data.get("error"):
        found["error"] = phrase("id.error")
    return found


def _guidance_lines(data: dict) -> dict[str, Phrase]:
    exam = data["exam"]
    return {
        "hello": phrase("guidance.hello", name=data["worker"]["name_masked"]),
        "exam": phrase("guidance.exam", questions=exam["question_count"], minutes=exam["duration_minutes"]),
        "say": phrase("guidance.say"),
    }


def _challenge_lines(data: dict) -> dict[str, Phrase]:
    found = {"say": phrase("challenge.say")}
    for n, step in enumerate(challenge_steps(data["challenge"])):
        found[f"step{n}"] = spoken(step["instruction"])
    if data.get("phase") == "countdown":
        found["countdown"] = phrase("challenge.countdown")
    else:
        found["recording"] = phrase("challenge.recording")
    return found


def _verifying_lines(data: dict) -> dict[str, Phrase]:
    found = {"say": phrase("verifying.say")}
    if data.get("queued"):
        found["queued"] = phrase("verifying.queued", seconds=data["queued"])
    return found


def _submitting_lines(data: dict) -> dict[str, Phrase]:
    found = {"say": phrase("submitting.say")}
    if not data.get("online", True):
        found["offline"] = phrase("submitting.offline")
    return found


def _pin_offer_lines(data: dict) -> dict[str, Phrase]:
    found = {
        "title": phrase("pin.offer_title"),
        "what": phrase("pin.offer_what"),
        "note": phrase("pin.offer_note"),
        "say": phrase("pin.offer_say"),
    }
    if data.get("code_qr"):
        found["qr"] = phrase("pin.offer_qr")
    return found


def _pin_entry_lines(data: dict) -> dict[str, Phrase]:
    found = {"title": phrase(f"pin.{data['phase']}_title"), "say": phrase("pin.say")}
    error = data.get("error")
    if data["phase"] == "first" and not error:  # an error says itself what to avoid
        found["tip"] = phrase("pin.tip")
    if error == "server":
        # The server's own words on why the PIN will not do (too simple, from the ID...).
        found["error"] = spoken(data.get("message") or PHRASES["pin.short"])
    elif error:
        found["error"] = phrase(f"pin.{error}")
    return found


def _pin_failed_lines(data: dict) -> dict[str, Phrase]:
    message = data.get("message")
    return {
        "title": phrase("pin.failed_title"),
        "message": spoken(message) if message else phrase("pin.failed_unreachable"),
        "say": phrase("pin.failed_say"),
    }


_SCREEN_LINES = {
    "welcome": lambda data: {"title": phrase("welcome.title"), "say": phrase("welcome.say")},
    "consent": _consent_lines,
    "id_entry": _id_lines,
    "checking_in": lambda data: {"say": phrase("checking_in.say")},
    "guidance": _guidance_lines,
    "challenge": _challenge_lines,
    "verifying": _verifying_lines,
    "retry": _refusal_lines,
    "refusal": _refusal_lines,
    "pin_offer": _pin_offer_lines,
    "pin_entry": _pin_entry_lines,
    "pin_saving": lambda data: {"say": phrase("pin.saving")},
    "pin_done": lambda data: {
        "title": phrase("pin.done_title"),
        "how": phrase("pin.done_how"),
        "address": spoken(data["sign_in_url"]),  # shown, not said: a web address read out helps no one
        "remember": phrase("pin.done_remember"),
        "say": phrase("pin.done_say"),
    },
    "pin_failed": _pin_failed_lines,
    "exam": lambda data: {"say": phrase("exam.say")},
    "review": lambda data: {"title": phrase("review.title"), "say": phrase("review.say")},
    "submitting": _submitting_lines,
    "result": lambda data: {
        **_result_lines(data["result"]),
        **({"pin": phrase("pin.result_offer")} if data.get("pin_offer") else {}),
    },
}


def lines(screen: str, data: dict) -> dict[str, Phrase]:
    """Return the sentences of a screen by role (what the screen draws and the voice says)."""
    build = _SCREEN_LINES.get(screen)
    return build(data) if build else {}


def spoken_roles(screen: str, found: dict[str, Phrase]) -> list[str]:
    """Return the roles a screen says, in order, among the lines it has (steps expand to each step)."""
    roles = []
    for role in SPOKEN.get(screen, []):
        if role == "steps":
            roles.extend(sorted((r for r in found if r.startswith("step")), key=lambda r: int(r[4:])))
        elif role in found:
            roles.append(role)
    return roles


def fixed_phrases() -> list[Phrase]:
    """Return every phrase without numbers: what `kiosk-client voice build` makes ahead of use."""
    return [Phrase(key, text) for key, text in PHRASES.items() if "{" not in text and not key.startswith("ui.")]


def question_phrase(question: dict) -> Phrase:
    """Return a question as the 读题 button reads it: its number, type, stem and each option."""
    kind = PHRASES.get(f"exam.{question['type']}", "")
    options = (
        "。".join(f"{o['letter']}，{o['text']}" for o in question["options"]) if question["type"] != "truefalse" else ""
    )
    text = f"第{question['item_no']}题，{kind}。{question['stem']}。{options}".rstrip("。") + "。"
    return spoken(text)


HINTS = {key[len("hint.") :]: text for key, text in PHRASES.items() if key.startswith("hint.")}
