"""Translation helpers: the babel extractor for enum labels, the filter that translates them, the locale choice."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import IO, Any

from flask import has_request_context, request
from flask_babel import get_locale, gettext, pgettext
from flask_login import current_user

from exam_server import catalogue
from exam_server.face import errors as face_errors

_CJK = re.compile(r"[\u4e00-\u9fff]")
LABEL_CONTEXT = catalogue.LABEL_CONTEXT


def translate_label(text: object) -> str:
    """Return a stored state's Chinese label in the request's language (the label is the msgid)."""
    return pgettext(LABEL_CONTEXT, str(text)) if text else ""


def bilingual(text: object) -> str:
    """Return the half of a question_bank "中文 / English" message in the request's language (no " / ": all of it)."""
    chinese, separator, english = str(text).partition(" / ")
    locale = get_locale()
    return english if separator and locale is not None and locale.language == "en" else chinese


def error_text(error: Exception) -> str:
    """Return a refusal's message in the request's language: a DomainError's msgid with its values, else its text."""
    msgid = getattr(error, "msgid", None)
    if msgid is None:
        return str(error)
    return gettext(msgid, **getattr(error, "params", {}))


def refusal_reason(code: str | None) -> str:
    """Return the face engine's short reason for a refusal code in the request's language, never the code."""
    return gettext(face_errors.reason_zh(code)) if code else ""


def photo_refusal_text(refusal: face_errors.FaceRefusal) -> str:
    """Return an uploaded photo's refusal (the administrator's advice) in the request's language."""
    template = face_errors.PHOTO_MESSAGES_ZH.get(refusal.code, refusal.message_zh)
    try:
        return gettext(template).format(**refusal.limits)
    except KeyError:  # raised without the limit its message names: the camera's words still hold
        return gettext(refusal.message_zh)


def extract_refusals(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple]:
    """Yield the face engine's refusal messages and the short reasons made of them (face/errors.py), for pybabel."""
    codes = [*face_errors.MESSAGES_ZH, "capture_missed", "unknown"]
    texts = [*face_errors.MESSAGES_ZH.values(), *face_errors.PHOTO_MESSAGES_ZH.values()]
    for text in [*texts, *(face_errors.reason_zh(code) for code in codes)]:
        yield 0, "gettext", text, []


def extract_labels(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[tuple]:
    """Yield the Chinese words of enums' label properties and *_LABELS dicts, for pybabel (babel.cfg)."""
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "label":
            scope: ast.AST = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not any(isinstance(t, ast.Name) and t.id.endswith("_LABELS") for t in targets) or node.value is None:
                continue
            scope = node.value
        else:
            continue
        docstrings = {id(n.value) for n in ast.walk(scope) if isinstance(n, ast.Expr)}
        for leaf in ast.walk(scope):
            if not isinstance(leaf, ast.Constant) or id(leaf) in docstrings:
                continue
            text = leaf.value
            if isinstance(text, str) and _CJK.search(text):
                yield leaf.lineno, "pgettext", (LABEL_CONTEXT, text), []


# Blueprints whose pages run through the catalogue; the worker, kiosk and public pages stay Chinese.
TRANSLATED_BLUEPRINTS = ("console", "auth")


def locale_selector() -> str:
    """Pick the console user's chosen language, else the browser's, else Simplified Chinese."""
    if not has_request_context() or request.blueprint not in TRANSLATED_BLUEPRINTS:
        return "zh_Hans_CN"
    chosen = getattr(current_user, "locale", None) if current_user.is_authenticated else None
    if chosen:
        return chosen
    return "en" if request.accept_languages.best_match(["zh", "en"]) == "en" else "zh_Hans_CN"
