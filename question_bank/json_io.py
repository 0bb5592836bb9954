"""JSON reading and writing in the bundled question format."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .model import Problem, Question
from .rows import JSON_LABELS


def read_records(data: bytes) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, str], list[Problem]]:
    """Return (1-based index, object) for each question object, the labels, and file problems."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return [], JSON_LABELS, [Problem(None, "", "JSON 文件必须是 UTF-8 编码 / JSON must be UTF-8")]
    except json.JSONDecodeError as exc:
        return (
            [],
            JSON_LABELS,
            [Problem(None, "", f"JSON 格式错误 / invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")],
        )
    if isinstance(doc, dict) and isinstance(doc.get("questions"), list):
        doc = doc["questions"]
    if not isinstance(doc, list):
        return [], JSON_LABELS, [Problem(None, "", "JSON 顶层必须是题目数组 / top level must be an array")]
    records: list[tuple[int, dict[str, Any]]] = []
    problems: list[Problem] = []
    for i, item in enumerate(doc, start=1):
        if isinstance(item, dict):
            records.append((i, item))
        else:
            problems.append(Problem(i, "", "每道题必须是一个 JSON 对象 / each question must be an object"))
    return records, JSON_LABELS, problems


def dumps(questions: Iterable[Question]) -> str:
    """Return questions as pretty JSON text in the bundled format."""
    return json.dumps([q.to_dict() for q in questions], ensure_ascii=False, indent=2) + "\n"


def write_questions(questions: Iterable[Question]) -> bytes:
    """Return questions as UTF-8 JSON bytes in the bundled format."""
    return dumps(questions).encode("utf-8")
