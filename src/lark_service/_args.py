"""Checks of the clients' constructor and call arguments (pure; shared by the async client
and its generated sync twin)."""

from __future__ import annotations

import httpx

from . import errors
from ._http import TokenKind
from ._paths import path_id

__all__ = ["check_arguments", "check_types", "require_h2", "token_kind"]


def check_types(**values: tuple[object, type, str]) -> None:
    for name, (value, kind, want) in values.items():
        if value is not None and not isinstance(value, kind):
            raise errors.ValidationError(
                f"{name} must be {want}, not {type(value).__name__}", field=name
            )


def check_arguments(**values: object) -> None:
    """Refuse arguments that would fail later with an untyped error (a secret that is not a
    str, a base URL httpx cannot parse): a ValidationError now, before anything is sent."""
    for name, value in values.items():
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip():
            raise errors.ValidationError(f"{name} must be a non-empty string", field=name)
        if len(value) > 2048 or (name == "app_id" and len(value) > 128):
            raise errors.ValidationError(
                f"{name} is too long ({len(value)} characters)", field=name
            )
        if name == "app_id":
            path_id(value, "app_id")  # no '/', '..', control characters
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise errors.ValidationError(f"{name} is not valid Unicode text", field=name) from None
        if name in ("base_url", "proxy"):
            try:
                url = httpx.URL(value)
            except (httpx.InvalidURL, ValueError, TypeError):
                url = None
            schemes = (
                ("http", "https", "socks5", "socks5h") if name == "proxy" else ("http", "https")
            )
            if url is None or url.scheme not in schemes or not url.host:
                raise errors.ValidationError(
                    f"{name} must be an http(s) URL such as https://open.feishu.cn",
                    field=name,
                )


def token_kind(kind: str) -> TokenKind:
    if kind not in ("tenant", "app"):
        raise errors.ValidationError(f"kind must be 'tenant' or 'app', not {kind!r}", field="kind")
    return kind  # type: ignore[return-value]


def require_h2() -> None:
    try:
        import h2  # noqa: F401
    except ImportError as exc:
        raise errors.ConfigError(
            "HTTP/2 needs the h2 package", hint="pip install 'lark-service[http2]'"
        ) from exc
