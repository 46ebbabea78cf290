"""Loggers under ``lark_service``, JSON lines on request, and a filter that masks secrets."""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

__all__ = ["SecretMaskingFilter", "configure_logging", "get_logger", "mask"]

_ROOT = "lark_service"

# Token values (t-/a-/u-/ur- prefixes as Feishu issues them, c- for card callback tokens),
# bearer headers, and key=value / "key": "value" pairs whose key names a secret.
_PATTERNS = [
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?bearer\s+)[^\s'\",}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+"),
    re.compile(
        r"(?i)(['\"]?(?:app_secret|client_secret|encrypt_key|verification_token|"
        r"(?:tenant|app|user)_access_token|access_token|refresh_token|password|"
        r"api_key|secret)['\"]?\s*[:=]\s*['\"]?)[^\s'\",}&]+"
    ),
    re.compile(r"\b((?:t|a|u|ur|c)-)[A-Za-z0-9._\-]{12,}"),
]
_MASK = "***"


def mask(text: str) -> str:
    """Replace secret values and token-looking strings in ``text`` with ``***``."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + _MASK, text)
    return text


class SecretMaskingFilter(logging.Filter):
    """Masks tokens and secrets in the formatted message, its args and extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                record.msg = record.getMessage()
            except Exception:  # a broken format string should still be logged, masked
                record.msg = f"{record.msg} {record.args!r}"
            record.args = None
        record.msg = mask(str(record.msg))
        for key, value in list(record.__dict__.items()):
            if key.startswith("lark_") and isinstance(value, str):
                record.__dict__[key] = mask(value)
        return True


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key.startswith("lark_"):
                data[key[5:]] = value
        if record.exc_info:
            data["exc"] = mask(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False, default=str)


_FILTER = SecretMaskingFilter()


def get_logger(name: str) -> logging.Logger:
    """A logger under ``lark_service`` with the masking filter attached."""
    logger = logging.getLogger(name if name.startswith(_ROOT) else f"{_ROOT}.{name}")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


def configure_logging(level: str | int | None = None, *, json_lines: bool | None = None) -> None:
    """Send ``lark_service`` logs to stderr at ``level`` (default ``LARK_LOG_LEVEL``)."""
    from .config import get_settings

    settings = get_settings()
    level = level or settings.log_level
    json_lines = settings.log_json if json_lines is None else json_lines
    root = logging.getLogger(_ROOT)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_lark_service", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._lark_service = True  # type: ignore[attr-defined]
    handler.addFilter(_FILTER)
    handler.setFormatter(
        _JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)


# -- logging as a subscriber of lark_service.instrumentation ----------------------------------

_http_logger = get_logger("lark_service.http")


def log_event(event: Any) -> None:
    """Write the pipeline's log lines from its instrumentation events (subscribed at import)."""
    name = event.name
    if name == "request.finished":
        _log_finished(event)
    elif name == "request.retried":
        _log_retried(event)


log_event.event_names = frozenset({"request.finished", "request.retried"})  # type: ignore[attr-defined]
"""The only events logging handles: the others are not even built for it."""


def _extra(event: Any, **fields: Any) -> dict[str, Any]:
    extra = {"lark_request_id": event.fields.get("request_id"), "lark_app_id": event.app_id}
    extra.update({f"lark_{key}": value for key, value in fields.items()})
    return extra


def _log_finished(event: Any) -> None:
    f = event.fields
    failed = f["outcome"] != "ok"
    level = logging.WARNING if failed else logging.INFO
    if not _http_logger.isEnabledFor(level):
        return
    if not failed and not _http_logger.hasHandlers():
        return  # nothing would print it: skip building and masking the record
    status = f["status"]
    duration_ms = f["duration"] * 1000
    _http_logger.log(
        level,
        "%s %s -> %s code=%s %.1f ms%s",
        f["method"],
        f["path"],
        status if status is not None else "no answer",
        f["code"],
        duration_ms,
        f" ({f['outcome']}: {f['error_msg']})" if failed else "",
        extra=_extra(
            event,
            attempt=f["attempt"],
            method=f["method"],
            path=f["path"],
            status=status,
            code=f["code"],
            duration_ms=round(duration_ms, 1),
            log_id=f["log_id"],
        ),
    )


def _log_retried(event: Any) -> None:
    if not _http_logger.isEnabledFor(logging.WARNING):
        return
    f = event.fields
    if "max_retries" not in f:  # a rejected token, refetched once
        _http_logger.warning(
            "%s; retrying %s %s",
            f["reason"],
            f["method"],
            f["path"],
            extra=_extra(event, attempt=f["attempt"], reason=f["reason"]),
        )
        return
    _http_logger.warning(
        "retry %d/%d of %s %s in %.2f s: %s",
        f["retry_number"],
        f["max_retries"],
        f["method"],
        f["path"],
        f["delay"],
        f["reason"],
        extra=_extra(event, attempt=f["attempt"], reason=f["reason"], delay=f["delay"]),
    )


def _subscribe_logging() -> None:
    from . import instrumentation

    instrumentation.subscribe(log_event)


_subscribe_logging()
