"""Translation helpers: the babel extractor for enum labels and the template filter that translates them."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import IO, Any

from flask_babel import pgettext

_CJK = re.compile(r"[\u4e00-\u9fff]")
# Labels are translated in their own context: 启用 the state ("active") is not 启用 the button ("activate").
LABEL_CONTEXT = "label"


def translate_label(text: object) -> str:
    """Return a stored state's Chinese label in the request's language (the label is the msgid)."""
    return pgettext(LABEL_CONTEXT, str(text)) if text else ""


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
