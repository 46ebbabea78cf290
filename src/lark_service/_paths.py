"""Paths: the one place an id becomes part of a URL.

Every id a domain method puts in a path goes through :func:`api_path`, which refuses what a
URL normaliser (or Feishu's gateway) would rewrite into another endpoint — empty, ``.``,
``..``, a ``/`` or ``\\``, control characters, text that is not valid Unicode, ids over
:data:`MAX_ID_LENGTH` — with a :class:`~lark_service.errors.ValidationError` before any request,
and percent-encodes the rest. :func:`check_raw_path` does the same for the escape hatch
``client.request(method, path)``.
"""

from __future__ import annotations

import functools
import os
import re
import string
from pathlib import Path
from urllib.parse import quote

from .errors import ValidationError

__all__ = [
    "HTTP_METHODS",
    "MAX_ID_LENGTH",
    "MAX_PATH_LENGTH",
    "ApiPath",
    "api_path",
    "check_method",
    "check_raw_path",
    "file_inside",
    "path_id",
    "route_of",
    "safe_file_name",
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


class ApiPath(str):
    """A path made by :func:`api_path`: the string itself, and the ``template`` it was made
    from (what logs and metrics show: ``/open-apis/im/v1/chats/{chat_id}``, no ids)."""

    template: str

    def __new__(cls, value: str, template: str) -> ApiPath:
        path = super().__new__(cls, value)
        path.template = template
        return path


def api_path(template: str, /, **ids: object) -> ApiPath:
    """``template`` with each ``{name}`` replaced by the checked, encoded ``ids[name]``:
    ``api_path("/open-apis/im/v1/chats/{chat_id}", chat_id=chat_id)``."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return path_id(ids[name], name)

    return ApiPath(_FIELD.sub(fill, template), template)


_STATIC = re.compile(r"(v\d+|[a-z]+(?:[_-][a-z]+)*)")


def route_of(path: str) -> str:
    """The path without its ids, for logs and metrics: an :class:`ApiPath`'s template, else
    every segment that is not a plain lower-case word (``om_8a…``, ``doxcnAb…``) as ``{id}``."""
    template = getattr(path, "template", None)
    if isinstance(template, str):
        return template
    return _template_of(str(path))


@functools.lru_cache(maxsize=4096)
def _template_of(path: str) -> str:
    return "/".join(s if not s or _STATIC.fullmatch(s) else "{id}" for s in path.split("/"))


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


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")
MAX_FILE_NAME = 255


def safe_file_name(name: object) -> str | None:
    """An untrusted file name (a download's ``Content-Disposition``) reduced to a plain base
    name: no directories (``/`` or ``\\``), no control characters or NUL bytes, not ``.`` or
    ``..``, at most 255 characters; None when nothing usable is left."""
    if not isinstance(name, str):
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("", base).strip().lstrip(".") or ""
    try:
        base.encode("utf-8")
    except UnicodeEncodeError:
        base = base.encode("utf-8", "replace").decode("utf-8")
    if not base:
        return None
    if len(base) > MAX_FILE_NAME:
        stem, dot, ext = base.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        base = (stem if keep else base)[: MAX_FILE_NAME - len(keep) - 1] + (
            "." + keep if keep else ""
        )
    return base


def file_inside(directory: str | os.PathLike[str], name: str) -> Path:
    """``directory/name`` for writing a download, refusing (ValidationError) any name that
    would land outside ``directory``."""
    base = safe_file_name(name)
    if base is None or base != name:
        raise ValidationError(
            f"{_show(name)} is not a plain file name",
            field="file_name",
            hint="Give a name without directories, e.g. report.pdf.",
        )
    root = Path(directory).resolve()
    target = (root / base).resolve()
    if target.parent != root:
        raise ValidationError(f"{_show(name)} would be written outside {root}", field="file_name")
    return target
