"""Paths: the one place an id becomes part of a URL.

Every id a domain method puts in a path goes through :func:`api_path`, which refuses what a
URL normaliser (or Feishu's gateway) would rewrite into another endpoint — empty, ``.``,
``..``, a ``/`` or ``\\``, control characters, text that is not valid Unicode, ids over
:data:`MAX_ID_LENGTH` — with a :class:`~lark_service.errors.ValidationError` before any request,
and percent-encodes the rest. :func:`check_raw_path` does the same for the escape hatch
``client.request(method, path)``.
"""

from __future__ import annotations

import re
import string
from urllib.parse import quote

from .errors import ValidationError

__all__ = [
    "HTTP_METHODS",
    "MAX_ID_LENGTH",
    "MAX_PATH_LENGTH",
    "api_path",
    "check_method",
    "check_raw_path",
    "path_id",
]

MAX_ID_LENGTH = 512
"""No Feishu id or token comes near this; longer input is a bug or an attack."""
MAX_PATH_LENGTH = 4096
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FIELD = re.compile(r"{(\w+)}")
_PATH_CHARS = frozenset(string.ascii_letters + string.digits + "-._~/%:@!$&'()*+,;=")


def path_id(value: object, field: str) -> str:
    """``value`` checked as one URL path segment and percent-encoded; ValidationError if it
    is not a usable id."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string, not {type(value).__name__}", field=field)
    text = value.strip()
    if not text:
        raise ValidationError(f"{field} must not be empty", field=field)
    if len(text) > MAX_ID_LENGTH:
        raise ValidationError(
            f"{field} is {len(text)} characters long; ids are at most {MAX_ID_LENGTH}",
            field=field,
        )
    if text in (".", "..") or "/" in text or "\\" in text:
        raise ValidationError(
            f"{field} {_show(text)} is not an id: it would change the endpoint's path",
            field=field,
        )
    if _CONTROL.search(text):
        raise ValidationError(f"{field} contains control characters", field=field)
    _check_encodable(text, field)
    return quote(text, safe="")


def api_path(template: str, /, **ids: object) -> str:
    """``template`` with each ``{name}`` replaced by the checked, encoded ``ids[name]``:
    ``api_path("/open-apis/im/v1/chats/{chat_id}", chat_id=chat_id)``."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return path_id(ids[name], name)

    return _FIELD.sub(fill, template)


def check_method(method: object) -> str:
    """An HTTP method name, upper-cased; ValidationError otherwise."""
    if not isinstance(method, str) or method.upper() not in HTTP_METHODS:
        raise ValidationError(
            f"method must be one of {', '.join(sorted(HTTP_METHODS))}, not {_show(method)}",
            field="method",
        )
    return method.upper()


def check_raw_path(path: object) -> str:
    """A path for ``client.request``: starts with ``/``, no ``.``/``..`` segments, no
    control characters or unencoded non-ASCII, at most :data:`MAX_PATH_LENGTH` long."""
    if not isinstance(path, str):
        raise ValidationError(f"path must be a string, not {type(path).__name__}", field="path")
    if not path.startswith("/"):
        raise ValidationError(
            f"path must start with '/', e.g. /open-apis/im/v1/messages (got {_show(path)})",
            field="path",
        )
    if len(path) > MAX_PATH_LENGTH:
        raise ValidationError(
            f"path is {len(path)} characters long; at most {MAX_PATH_LENGTH}", field="path"
        )
    if "?" in path or "#" in path:
        raise ValidationError(
            "path must not contain a query or fragment; pass params= instead", field="path"
        )
    _check_encodable(path, "path")
    if _CONTROL.search(path) or not set(path) <= _PATH_CHARS:
        raise ValidationError(
            "path contains characters that are not allowed unencoded in a URL path; "
            "percent-encode ids (or use a domain method)",
            field="path",
        )
    segments = path.split("/")[1:]
    if any(s in (".", "..") or s.lower() in ("%2e", "%2e%2e", ".%2e", "%2e.") for s in segments):
        raise ValidationError(
            "path must not contain '.' or '..' segments: they change the endpoint",
            field="path",
        )
    return path


def _check_encodable(text: str, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"{field} is not valid Unicode text (it holds a lone surrogate)", field=field
        ) from None


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
