"""``lark-service doctor``'s checks, as a library: each returns :class:`Check` results with a
fix for every failure. The scheduler's ``health_check`` job runs :func:`health_checks`.

:func:`run_checks` covers: configuration (the ``LARK_*`` settings parse), the encryption
key, both databases (reachable, migrations at this package's head), the broker (an AMQP
handshake) and Redis (PING) when configured, each active app's credentials (a token fetched
from Feishu now), the clock's skew against the ``Date`` header of Feishu's token endpoint,
file permissions under ``LARK_HOME``, and the optional extras (a missing one fails only when
the configuration needs it).
"""

from __future__ import annotations

import email.utils
import importlib.util
import os
import socket
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .config import Settings

__all__ = [
    "EXTRAS",
    "Check",
    "Status",
    "health_checks",
    "run_checks",
]

Status = Literal["ok", "warn", "fail", "skip"]

SKEW_WARN = 5.0
"""Seconds of clock skew against Feishu that are reported as a warning."""
SKEW_FAIL = 60.0
"""Seconds of skew that fail (callback timestamps and token lifetimes go wrong)."""

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table: ``fix`` says what to do when it is not ``ok``."""

    name: str
    status: Status
    detail: str = ""
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


# (extra, module, what needs it)
EXTRAS: tuple[tuple[str, str, str], ...] = (
    ("postgres", "psycopg", "a postgresql:// database URL"),
    ("rabbitmq", "aio_pika", "LARK_AMQP_URL"),
    ("server", "fastapi", "lark-service serve"),
    ("metrics", "prometheus_client", "/metrics and --metrics-port"),
    ("redis", "redis", "LARK_REDIS_URL"),
    ("http2", "h2", "LARK_HTTP2=true"),
    ("scheduler", "apscheduler", "LARK_SCHEDULER_<JOB>_CRON"),
    ("otel", "opentelemetry.sdk", "LARK_OTEL_ENABLED"),
)


def run_checks(
    settings: Settings | None = None,
    *,
    timeout: float = 5.0,
    apps: bool = True,
    clock: Callable[[], float] = time.time,
) -> list[Check]:
    """Every check, in the order the table shows them. Never raises."""
    from pydantic import ValidationError as PydanticValidationError

    if settings is None:
        from .config import get_settings

        try:
            settings = get_settings()
        except PydanticValidationError as exc:
            details = exc.errors()
            first: dict[str, Any] = dict(details[0]) if details else {}
            where = ".".join(str(p) for p in first.get("loc", ()))
            return [
                Check(
                    "configuration",
                    "fail",
                    f"LARK_{where.upper()}: {first.get('msg', 'invalid')}",
                    "Fix the variable in the environment or .env ($LARK_HOME/.env).",
                )
            ]
    checks = [Check("configuration", "ok", f"home {settings.home}")]
    checks.append(_guard("encryption key", lambda: _key(settings)))
    checks.append(_guard("state database", lambda: _database(settings, "state")))
    checks.append(_guard("config database", lambda: _database(settings, "config")))
    checks.append(_guard("broker", lambda: _broker(settings, timeout)))
    checks.append(_guard("redis", lambda: _redis(settings, timeout)))
    if apps:
        checks.extend(_apps(settings))
    checks.append(_guard("clock skew", lambda: _skew(settings, timeout, clock)))
    checks.extend(_permissions(settings.home))
    checks.extend(_extras(settings))
    return checks


def health_checks(settings: Settings, *, timeout: float = 5.0) -> list[Check]:
    """What the scheduler's ``health_check`` job looks at: databases, broker, Redis and the
    reachability of Feishu's token endpoint (no credentials used)."""
    return [
        _guard("state database", lambda: _database(settings, "state", migrations=False)),
        _guard("config database", lambda: _database(settings, "config", migrations=False)),
        _guard("broker", lambda: _broker(settings, timeout)),
        _guard("redis", lambda: _redis(settings, timeout)),
        _guard("feishu", lambda: _reachable(settings, timeout)),
    ]


def _guard(name: str, fn: Callable[[], Check]) -> Check:
    try:
        return fn()
    except Exception as exc:
        return Check(name, "fail", _describe(exc), "See the error; run with --json for scripts.")


# -- the checks ------------------------------------------------------------------------------


def _key(settings: Settings) -> Check:
    from . import errors
    from .storage.crypto import SecretBox

    key = settings.config_encryption_key
    if key is None or not key.get_secret_value().strip():
        return Check(
            "encryption key",
            "warn",
            "LARK_CONFIG_ENCRYPTION_KEY is not set (created in $LARK_HOME/.env on first use)",
            "Run `lark-service init` so every process shares one key.",
        )
    try:
        SecretBox(key.get_secret_value())
    except errors.EncryptionKeyError as exc:
        return Check("encryption key", "fail", exc.msg, exc.hint or "Run `lark-service init`.")
    count = len([k for k in key.get_secret_value().split(",") if k.strip()])
    return Check("encryption key", "ok", f"{count} key(s)")


def _database(
    settings: Settings, which: Literal["state", "config"], *, migrations: bool = True
) -> Check:
    from sqlalchemy import text

    from .storage.engine import get_engine, sqlite_path

    name = f"{which} database"
    url = settings.resolved_database_url if which == "state" else settings.resolved_config_db_url
    variable = "LARK_DATABASE_URL" if which == "state" else "LARK_CONFIG_DB_URL"
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return Check(
            name,
            "warn" if migrations else "ok",
            f"{path} does not exist yet",
            "Created on first use; `lark-service db upgrade` creates it now.",
        )
    try:
        engine = get_engine(url).execution_options(sqlite_begin="DEFERRED")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return Check(
            name, "fail", _describe(exc), f"Check that {variable} points to a live database."
        )
    shown = engine.url.render_as_string(hide_password=True)
    if not migrations:
        return Check(name, "ok", shown)
    from .storage.migrate import current, head_revision

    have, head = current(url, which), head_revision(which)
    if have == head:
        return Check(name, "ok", f"{shown} at {head}")
    return Check(
        name,
        "fail",
        f"{shown} is at {have or 'no revision'}, this version needs {head}",
        "Run `lark-service db upgrade` (or start any lark-service process: it migrates).",
    )


def _broker(settings: Settings, timeout: float) -> Check:
    if not settings.amqp_url:
        return Check("broker", "skip", "LARK_AMQP_URL is not set (in-process dispatch)")
    parts = urlsplit(settings.amqp_url)
    host, port = parts.hostname or "localhost", parts.port or 5672
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            frame = sock.recv(7)
    except OSError as exc:
        return Check(
            "broker",
            "fail",
            f"{host}:{port}: {exc.strerror or type(exc).__name__}",
            "Start RabbitMQ or fix LARK_AMQP_URL.",
        )
    if not frame or frame[0] != 1:  # a method frame: connection.start
        return Check(
            "broker", "fail", f"{host}:{port} does not speak AMQP 0-9-1", "Fix LARK_AMQP_URL."
        )
    return Check("broker", "ok", f"AMQP 0-9-1 at {host}:{port}")


def _redis(settings: Settings, timeout: float) -> Check:
    if not settings.redis_url:
        return Check("redis", "skip", "LARK_REDIS_URL is not set (pacing per process)")
    parts = urlsplit(settings.redis_url)
    host, port = parts.hostname or "localhost", parts.port or 6379
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            if parts.password:
                user = parts.username or "default"
                sock.sendall(_resp("AUTH", user, parts.password))
                sock.recv(256)
            sock.sendall(_resp("PING"))
            answer = sock.recv(256)
    except OSError as exc:
        return Check(
            "redis",
            "fail",
            f"{host}:{port}: {exc.strerror or type(exc).__name__}",
            "Start Redis or fix LARK_REDIS_URL.",
        )
    if not answer.startswith(b"+PONG"):
        return Check(
            "redis",
            "fail",
            answer[:80].decode("ascii", "replace").strip(),
            "Fix LARK_REDIS_URL (password?).",
        )
    return Check("redis", "ok", f"{host}:{port}")


def _resp(*words: str) -> bytes:
    out = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _apps(settings: Settings) -> list[Check]:
    from .scheduler.jobs import _active_apps

    try:
        app_ids = _active_apps(settings)
    except Exception as exc:
        return [Check("apps", "fail", _describe(exc), "Check LARK_CONFIG_DB_URL and the key.")]
    if not app_ids:
        return [
            Check(
                "apps",
                "warn",
                "no active app",
                "Register one with `lark-service app add`, or set LARK_APP_ID/LARK_APP_SECRET.",
            )
        ]
    from . import LarkClient, errors
    from .credentials import MemoryTokenStore

    checks = []
    with LarkClient(settings=settings, token_store=MemoryTokenStore()) as client:
        for app_id in app_ids:
            name = f"app {app_id}"
            try:
                record = client.check_credentials(app_id=app_id)
            except errors.InvalidCredentialsError as exc:
                checks.append(
                    Check(
                        name,
                        "fail",
                        exc.msg,
                        f"Update the secret: `lark-service app update {app_id}`.",
                    )
                )
            except errors.LarkError as exc:
                checks.append(Check(name, "fail", _describe(exc), exc.hint or "See the error."))
            else:
                checks.append(Check(name, "ok", f"token valid for {record.lifetime:.0f} s"))
    return checks


def _skew_base(settings: Settings) -> str:
    """The host the app talks to: the default app's (a registered app's stored domain, an
    emulator in a test setup), else LARK_BASE_URL."""
    try:
        from . import LarkClient
        from .credentials import MemoryTokenStore

        with LarkClient(settings=settings, token_store=MemoryTokenStore()) as client:
            return str(client.resolve_app().base_url)
    except Exception:
        return settings.base_url


def _skew(settings: Settings, timeout: float, clock: Callable[[], float]) -> Check:
    import httpx

    base = _skew_base(settings)
    url = base + TOKEN_PATH
    try:
        before = clock()
        response = httpx.post(url, json={}, timeout=timeout)
        after = clock()
    except httpx.HTTPError as exc:
        return Check(
            "clock skew",
            "fail",
            f"{base} unreachable: {type(exc).__name__}",
            f"Check the network path (proxy, firewall) to {base}.",
        )
    date = response.headers.get("date")
    if not date:
        return Check("clock skew", "skip", "Feishu's answer had no Date header")
    theirs = email.utils.parsedate_to_datetime(date).timestamp()
    skew = (before + after) / 2 - theirs
    detail = f"{skew:+.1f} s against {base}"
    # the Date header has whole seconds: below a second is noise
    if abs(skew) >= SKEW_FAIL:
        return Check("clock skew", "fail", detail, "Synchronise the clock (NTP: chrony/timesyncd).")
    if abs(skew) >= SKEW_WARN:
        return Check("clock skew", "warn", detail, "Synchronise the clock (NTP).")
    return Check("clock skew", "ok", detail)


def _reachable(settings: Settings, timeout: float) -> Check:
    import httpx

    try:
        response = httpx.post(settings.base_url + TOKEN_PATH, json={}, timeout=timeout)
    except httpx.HTTPError as exc:
        return Check(
            "feishu",
            "fail",
            f"{settings.base_url}: {type(exc).__name__}",
            "Check the network path to LARK_BASE_URL.",
        )
    if response.status_code >= 500:
        return Check("feishu", "fail", f"HTTP {response.status_code}", "Feishu answers errors.")
    return Check("feishu", "ok", f"token endpoint answers (HTTP {response.status_code})")


def _permissions(home: Path) -> list[Check]:
    home = home.expanduser()
    if not home.exists():
        return [Check("LARK_HOME", "warn", f"{home} does not exist", "Run `lark-service init`.")]
    checks = []
    mode = stat.S_IMODE(home.stat().st_mode)
    if mode & 0o077:
        checks.append(Check("LARK_HOME", "fail", f"{home} is mode {mode:o}", f"chmod 700 {home}"))
    else:
        checks.append(Check("LARK_HOME", "ok", f"{home} mode {mode:o}"))
    for path in _secret_files(home):
        fmode = stat.S_IMODE(path.stat().st_mode)
        if fmode & 0o077:
            checks.append(
                Check(f"{path.name}", "fail", f"{path} is mode {fmode:o}", f"chmod 600 {path}")
            )
    if os.access(home, os.W_OK) is False:
        checks.append(
            Check("LARK_HOME", "fail", f"{home} is not writable", "Give this user write access.")
        )
    return checks


def _secret_files(home: Path) -> Iterable[Path]:
    for name in (".env", "config.db", "state.db"):
        path = home / name
        if path.is_file():
            yield path


def _extras(settings: Settings) -> list[Check]:
    needed = {
        "postgres": any(
            (u or "").startswith("postgres")
            for u in (settings.database_url, settings.config_db_url)
        ),
        "rabbitmq": bool(settings.amqp_url),
        "redis": bool(settings.redis_url),
        "http2": settings.http2,
        "otel": bool(getattr(settings, "otel_enabled", False)),
    }
    installed, missing, failures = [], [], []
    for extra, module, need in EXTRAS:
        if _importable(module):
            installed.append(extra)
        elif needed.get(extra):
            failures.append(
                Check(
                    f"extra {extra}",
                    "fail",
                    f"{need} needs {module}",
                    f"pip install 'lark-service[{extra}]'",
                )
            )
        else:
            missing.append(extra)
    detail = "installed: " + (", ".join(installed) or "none")
    if missing:
        detail += "; not installed (not needed): " + ", ".join(missing)
    return [Check("extras", "ok", detail), *failures]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _describe(exc: BaseException) -> str:
    msg = getattr(exc, "msg", None)
    if isinstance(msg, str):
        return f"{type(exc).__name__}: {msg}"
    orig = getattr(exc, "orig", None) or exc
    detail = (str(orig).strip().splitlines() or [""])[0][:200]
    return f"{type(orig).__name__}: {detail}" if detail else type(orig).__name__
