"""Describe each route once (@operation) and build the OpenAPI 3.1 document from the app's real url_map."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, current_app, jsonify, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from exam_server.api import schemas
from exam_server.api.errors import CODES
from exam_server.plaintext import control_character, refusal
from exam_server.services.exam.refusals import Refusal

ATTRIBUTE = "__kiosk_api__"
_REF = "#/components/schemas/{model}"
_PARAM = re.compile(r"<(?:[^:<>]+:)?(\w+)>")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Operation:
    """What the document says about one route; the wrapper holds the route to it."""

    summary: str
    response: type[BaseModel] | None = None
    status: int = 200
    body: type[BaseModel] | None = None
    multipart: dict | None = None
    errors: tuple[str, ...] = ()
    public: bool = False
    description: str = ""
    tags: tuple[str, ...] = field(default=("kiosk",))
    binary: tuple[str, ...] = ()  # media types of a file answer (the view returns the response itself)


def operation(**spec):
    """Attach an Operation to a view and serialise its result through the documented response model."""
    op = Operation(**spec)

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            result = view(*args, **kwargs)
            if op.response is None:
                return result
            return jsonify(op.response.model_validate(result).model_dump(mode="json")), op.status

        setattr(wrapper, ATTRIBUTE, op)
        return wrapper

    return decorate


def operation_of(app: Flask, endpoint: str | None) -> Operation | None:
    return getattr(app.view_functions.get(endpoint or ""), ATTRIBUTE, None)


def parse_json(model: type[M]) -> M:
    """Validate the JSON body against a model; refuse with a 400 (or the field's own code) that names the field."""
    try:
        data = request.get_json(force=True, silent=True)
    except RecursionError:  # the json module recurses per nesting level; ~1,000 levels exhaust the stack
        raise Refusal("invalid_request", "JSON 嵌套层数过多 / the JSON is nested too deeply", field="body") from None
    if not isinstance(data, dict):
        raise Refusal("invalid_request", "请求体须为 JSON 对象 / the body must be a JSON object", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = ".".join(str(part) for part in first["loc"]) or "body"
        message = first["msg"].removeprefix("Value error, ")
        code = (
            schemas.REFUSAL_CODES.get(name, "invalid_request") if first["type"] in _WRONG_VALUE else "invalid_request"
        )
        said = CODES[code][1] if code != "invalid_request" else f"字段 {name} 无效"
        raise Refusal(code, f"{said} / field {name}: {message}", field=name) from None


# Pydantic error types of a present value of the right type that fails the field's rule.
_WRONG_VALUE = frozenset({"string_pattern_mismatch", "value_error"})


def form_text(name: str, max_length: int = 128) -> str:
    """Return a required text field of a multipart form."""
    value = request.form.get(name, "")
    if not value or len(value) > max_length:
        raise Refusal("invalid_request", f"缺少或过长的字段 {name} / field {name} is missing or too long", field=name)
    if found := control_character(value):
        raise Refusal("invalid_request", refusal(name, found), field=name)
    return value


def form_files(name: str, low: int, high: int) -> list[bytes]:
    """Return the uploaded files of a multipart field, refusing a count outside low..high."""
    files = [part.read() for part in request.files.getlist(name)]
    if not low <= len(files) <= high:
        raise Refusal(
            "invalid_request",
            f"字段 {name} 须有 {low}-{high} 个图像文件，实际 {len(files)} 个 / "
            f"field {name} needs {low}-{high} image files",
            field=name,
        )
    return files


def _path(rule) -> tuple[str, list[dict]]:
    params = []
    for name in _PARAM.findall(rule.rule):
        converter = rule._converters.get(name)
        schema: dict = {"type": "string"}
        if converter is not None and type(converter).__name__ == "IntegerConverter":
            schema = {"type": "integer", "minimum": converter.min if converter.min is not None else 0}
            if converter.max is not None:
                schema["maximum"] = converter.max
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _PARAM.sub(r"{\1}", rule.rule), params


def _error_responses(codes: list[str]) -> dict:
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(CODES[code][0], []).append(code)
    responses: dict[str, dict[str, Any]] = {
        str(status): {
            "description": ", ".join(found),
            "content": {
                "application/json": {
                    "schema": {
                        "allOf": [{"$ref": _REF.format(model="Error")}],
                        "properties": {"error": {"enum": found}},
                    }
                }
            },
        }
        for status, found in sorted(by_status.items())
    }
    if "429" in responses:
        responses["429"]["description"] += (
            ": more requests than the kiosk token's limit (EXAM_API_RATE_LIMIT), or than an address may send "
            "without a valid token (EXAM_API_ANONYMOUS_RATE_LIMIT); nothing was done, send it again after Retry-After"
        )
        responses["429"]["headers"] = {
            "Retry-After": {
                "description": "seconds until the limit's window opens again",
                "schema": {"type": "integer"},
            }
        }
    return responses


def _describe(op: Operation, params: list[dict], endpoint: str, refs: dict) -> dict:
    codes = [*op.errors, "rate_limited"]
    if any(param["schema"]["type"] == "integer" for param in params):
        codes.append("not_found")  # the int converter matches no route for a non-number or an id out of range
    if op.body is not None or op.multipart is not None:
        codes = ["invalid_request", "payload_too_large", *codes]
    if not op.public:
        codes = ["kiosk_unauthorized", "kiosk_disabled", *codes]
    success: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        success["content"] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
    elif op.binary:
        success["content"] = {kind: {"schema": {"type": "string", "format": "binary"}} for kind in op.binary}
    else:
        success["content"] = {"application/json": {"schema": {"type": "object"}}}
    described = {
        "operationId": endpoint.split(".", 1)[1],
        "summary": op.summary,
        "tags": list(op.tags),
        "responses": {str(op.status): success, **_error_responses(list(dict.fromkeys(codes)))},
    }
    if op.description:
        described["description"] = op.description
    if params:
        described["parameters"] = params
    if op.public:
        described["security"] = []
    if op.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    if op.multipart is not None:
        described["requestBody"] = {"required": True, "content": {"multipart/form-data": op.multipart}}
    return described


def document(app: Flask) -> dict:
    """Return the OpenAPI 3.1 document of every route of the api blueprint; refuse an undescribed route."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            op = operation_of(app, rule.endpoint)
            if op is None:
                raise RuntimeError(f"kiosk API route {rule.rule} has no @operation description")
            found.append((rule, op))
    models: set[tuple[type[BaseModel], JsonSchemaMode]] = (
        {(op.body, "validation") for _, op in found if op.body}
        | {(op.response, "serialization") for _, op in found if op.response}
        | {(schemas.Error, "serialization")}
    )
    keyed, definitions = models_json_schema(sorted(models, key=lambda m: m[0].__name__), ref_template=_REF)
    paths: dict[str, dict] = {}
    for rule, op in sorted(found, key=lambda item: item[0].rule):
        path, params = _path(rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _describe(op, params, rule.endpoint, keyed)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "考试终端接口 Kiosk API",
            "version": "1.0.0",
            "description": "Face-verified exam kiosks; see docs/kiosk-api.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{"kiosk": []}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "kiosk": {"type": "http", "scheme": "bearer", "description": "the kiosk's device token"}
            },
        },
    }


def cached_document() -> dict:
    """Return the document, built once per app (routes do not change after start-up)."""
    app = current_app
    if "kiosk_openapi" not in app.extensions:
        app.extensions["kiosk_openapi"] = document(app)
    return app.extensions["kiosk_openapi"]
