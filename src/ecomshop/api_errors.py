"""Refusing bad HTTP input with the right status and a JSON message.

Every check here runs before anything is written or published, so a refused request
leaves no trace on the bus. Parsing is stricter than ``json.loads``'s defaults:
NaN/Infinity, duplicate keys, lone surrogates and absurd nesting are refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from pydantic import ValidationError

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,253}[\x21-\x7e])?")


class ApiError(Exception):
    """An answer to give the client: status, a one-line message, maybe per-field details."""

    def __init__(
        self,
        status: int,
        message: str,
        fields: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.message}
        if self.fields:
            out["fields"] = self.fields
        return out


def _clip(text: str, limit: int = 80) -> str:
    text = _SURROGATE.sub("\ufffd", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_json_media_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def require_json_content_type(content_type: str | None) -> None:
    if not is_json_media_type(content_type):
        shown = _clip(content_type) if content_type else "none"
        raise ApiError(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type must be application/json (got {shown})",
        )


def body_text(body: str | None, is_base64: bool) -> str:
    """The request body as text: size-checked (413), base64-decoded, valid UTF-8 (400)."""
    if body is None or body == "":
        raise ApiError(HTTPStatus.BAD_REQUEST, "request body is required")
    if not isinstance(body, str):
        raise ApiError(HTTPStatus.BAD_REQUEST, "request body must be text")
    too_large = ApiError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body exceeds {MAX_BODY_BYTES} bytes")
    if is_base64:
        if len(body) > (MAX_BODY_BYTES // 3 + 1) * 4 + 4:
            raise too_large
        try:
            raw = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ApiError(HTTPStatus.BAD_REQUEST, "request body is not valid base64") from exc
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise too_large
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(HTTPStatus.BAD_REQUEST, "request body is not valid UTF-8") from exc


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {_clip(key)!r}")
        out[key] = value
    return out


def _check_structure(value: Any) -> None:
    """Bounded nesting and text that can be encoded as UTF-8 (no lone surrogates)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"JSON nested too deeply (at most {MAX_JSON_DEPTH} levels)")
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise ApiError(HTTPStatus.BAD_REQUEST, "request body contains invalid unicode (lone surrogate)")
        elif isinstance(item, dict):
            for key, child in item.items():
                if _SURROGATE.search(key):
                    raise ApiError(HTTPStatus.BAD_REQUEST, "request body contains invalid unicode (lone surrogate)")
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def parse_json(text: str) -> Any:
    """Strict JSON: numbers with a fraction or exponent become Decimals (DynamoDB-safe)."""
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except RecursionError as exc:
        raise ApiError(HTTPStatus.BAD_REQUEST, "malformed JSON: nested too deeply") from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise ApiError(HTTPStatus.BAD_REQUEST, f"malformed JSON: {exc.msg} at {where}") from exc
    except ValueError as exc:  # NaN/Infinity, duplicate keys, integers too long to convert
        raise ApiError(HTTPStatus.BAD_REQUEST, f"malformed JSON: {_clip(str(exc), 120)}") from exc
    _check_structure(value)
    return value


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(_clip(str(part), 64) for part in loc) or "body"


def validation_fields(exc: ValidationError) -> dict[str, str]:
    """One entry per offending field, keyed by its dotted path (``items.0.quantity``)."""
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        name = _field_name(tuple(error["loc"]))
        message = error["msg"].removeprefix("Value error, ")
        fields[name] = f"{fields[name]}; {message}" if name in fields else message
    return fields


def invalid_order(exc: ValidationError) -> ApiError:
    return ApiError(HTTPStatus.UNPROCESSABLE_ENTITY, "invalid order", fields=validation_fields(exc))


def idempotency_key(value: str | None) -> str | None:
    """The Idempotency-Key header: absent means no idempotency; present must be sane."""
    if value is None:
        return None
    key = value.strip()
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "Idempotency-Key must be 1..255 printable ASCII characters",
        )
    return key
