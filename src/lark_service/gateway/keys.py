"""Gateway API keys: created once, stored only as a keyed hash, checked in constant time.

A key reads ``lsk_<prefix>_<secret>``: ``prefix`` (12 hex characters) is its public id, the
row looked up; ``secret`` is 32 random bytes (URL-safe base64). The table ``api_keys`` keeps
``HMAC-SHA256(server secret, key)`` and never the key; the check is ``hmac.compare_digest``.
Keys are random with 256 bits of entropy, so a keyed fast hash is as strong as a slow password
hash here and costs microseconds per request. The server secret is ``LARK_GATEWAY_KEY_SECRET``,
else a random one kept in ``$LARK_HOME/gateway-key-secret`` (mode 0600): hosts that share the
state database must share that value.

``api_keys`` rows: name, apps (``["*"]``: every app), scopes, token-bucket ``rate`` (per second;
None: no limit) and ``burst``, ``expires_at``, ``revoked_at``, ``last_used_at`` (updated at
most once a minute per key).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import errors

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..config import Settings

__all__ = [
    "ALL_SCOPES",
    "PRIVILEGED_SCOPES",
    "ApiKey",
    "ApiKeyStore",
    "NewApiKey",
    "parse_rate",
    "server_secret",
]

PREFIX = "lsk_"
_KEY_RE = re.compile(r"^lsk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_SECRET_FILE = "gateway-key-secret"
_TOUCH_EVERY = 60.0

ALL_SCOPES = "*"
"""A key with scope ``*`` may call every operation except the privileged ones."""
PRIVILEGED_SCOPES = frozenset({"apps:token", "raw:call"})
"""Scopes ``*`` does not include: they must be granted by name."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key, as listed: everything but the key itself."""

    id: int
    prefix: str
    name: str
    apps: tuple[str, ...]
    scopes: tuple[str, ...]
    rate: float | None
    burst: int | None
    created_at: float
    expires_at: float | None = None
    revoked_at: float | None = None
    last_used_at: float | None = None
    key_hash: str = field(default="", repr=False, compare=False)

    def allows_app(self, app_id: str) -> bool:
        """Whether the key may act as ``app_id``."""
        return "*" in self.apps or app_id in self.apps

    def missing_scopes(self, needed: Iterable[str]) -> list[str]:
        """The scopes of ``needed`` this key lacks."""
        have = set(self.scopes)
        return [
            s
            for s in needed
            if s not in have and not (ALL_SCOPES in have and s not in PRIVILEGED_SCOPES)
        ]

    def status(self, now: float) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewApiKey:
    """A key just created: ``key`` is shown once and never stored."""

    key: str
    record: ApiKey


def parse_rate(value: str) -> float:
    """``20/s``, ``600/min``, ``3600/h`` or a bare number (per second) → per second."""
    text = value.strip().lower().replace(" ", "")
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(?:/(s|sec|second|m|min|minute|h|hour))?", text)
    if not match or float(match.group(1)) <= 0:
        raise errors.ValidationError(
            f"rate must look like 20/s, 600/min or 3600/h, not {value!r}", field="rate"
        )
    per = {"m": 60.0, "min": 60.0, "minute": 60.0, "h": 3600.0, "hour": 3600.0}
    return float(match.group(1)) / per.get(match.group(2) or "s", 1.0)


def server_secret(settings: Settings, *, create: bool = True) -> bytes:
    """The HMAC secret: ``LARK_GATEWAY_KEY_SECRET``, else ``$LARK_HOME/gateway-key-secret``
    (made on first use when ``create``)."""
    configured = settings.gateway_key_secret
    if configured is not None and configured.get_secret_value().strip():
        return configured.get_secret_value().strip().encode()
    path = Path(settings.home) / _SECRET_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        if not create:
            raise errors.ConfigError(
                "no gateway key secret: set LARK_GATEWAY_KEY_SECRET or create a key first",
                hint="lark-service apikey create --name NAME --apps APP_ID --scopes SCOPE",
            ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
    return value


class ApiKeyStore:
    """API keys in the state database (``LARK_DATABASE_URL``).

    :meth:`authenticate` caches what it read for ``cache_ttl`` seconds (a revocation takes
    effect within that time on every server) so a request costs no database read.
    """

    def __init__(
        self,
        database_url: str,
        secret: bytes,
        *,
        clock: Callable[[], float] = time.time,
        cache_ttl: float = 5.0,
    ) -> None:
        self.database_url = database_url
        self._secret = secret
        self.clock = clock
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._touched: dict[int, float] = {}
        self._lock = threading.Lock()
        self._engine: Engine | None = None

    @classmethod
    def from_settings(cls, settings: Settings, **kw: Any) -> ApiKeyStore:
        return cls(settings.resolved_database_url, server_secret(settings), **kw)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from ..storage.migrate import ensure_schema

            self._engine = ensure_schema(self.database_url, "state")
        return self._engine

    def _hash(self, key: str) -> str:
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()

    # -- administration --------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        apps: Sequence[str],
        scopes: Sequence[str],
        rate: float | None = None,
        burst: int | None = None,
        expires_at: float | None = None,
    ) -> NewApiKey:
        """A new key for ``apps`` with ``scopes``; the key is returned once, never stored."""
        from sqlalchemy import insert

        from ..storage.tables import api_keys

        name = name.strip() if isinstance(name, str) else ""
        if not name:
            raise errors.ValidationError("a key needs a name", field="name")
        apps_list = _clean_list(apps, "apps")
        scope_list = _clean_list(scopes, "scopes")
        if rate is not None and rate <= 0:
            raise errors.ValidationError("rate must be positive", field="rate")
        if burst is not None and burst < 1:
            raise errors.ValidationError("burst must be at least 1", field="burst")
        if burst is not None and rate is None:
            raise errors.ValidationError("burst needs a rate (--rate)", field="burst")
        if rate is not None and burst is None:
            burst = max(1, round(rate))
        now = self.clock()
        if expires_at is not None and expires_at <= now:
            raise errors.ValidationError("the expiry is in the past", field="expires")
        prefix = secrets.token_hex(6)
        secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        key = f"{PREFIX}{prefix}_{secret}"
        values = {
            "name": name,
            "key_hash": self._hash(key),
            "key_prefix": prefix,
            "app_ids": apps_list,
            "scopes": scope_list,
            "rate": rate,
            "burst": burst,
            "created_at": now,
            "expires_at": expires_at,
        }
        with self.engine.begin() as conn:
            result = conn.execute(insert(api_keys).values(**values))
            key_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        record = ApiKey(
            id=key_id,
            prefix=prefix,
            name=name,
            apps=tuple(apps_list),
            scopes=tuple(scope_list),
            rate=rate,
            burst=burst,
            created_at=now,
            expires_at=expires_at,
        )
        return NewApiKey(key, record)

    def list_keys(self, *, include_revoked: bool = False) -> list[ApiKey]:
        """Every key (the revoked ones too with ``include_revoked``), oldest first."""
        from sqlalchemy import select

        from ..storage.tables import api_keys

        query = select(api_keys).where(api_keys.c.key_prefix.is_not(None)).order_by(api_keys.c.id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        with self.engine.connect() as conn:
            return [_record(row._mapping) for row in conn.execute(query)]

    def revoke(self, name_or_prefix: str) -> list[ApiKey]:
        """Revoke the active key(s) with this name, prefix (``lsk_<prefix>`` also works) or
        id; the revoked keys. Raises NotFoundError when none matches."""
        from sqlalchemy import or_, update

        from ..storage.tables import api_keys

        wanted = name_or_prefix.strip().removeprefix(PREFIX).split("_")[0]
        matches = [
            k
            for k in self.list_keys()
            if name_or_prefix.strip() in (k.name, str(k.id)) or wanted == k.prefix
        ]
        if not matches:
            raise errors.NotFoundError(
                f"no active API key is called or prefixed {name_or_prefix!r}",
                hint="lark-service apikey list",
            )
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(
                update(api_keys)
                .where(or_(*(api_keys.c.id == k.id for k in matches)))
                .values(revoked_at=now)
            )
        with self._lock:
            self._cache.clear()
        return matches

    # -- requests --------------------------------------------------------------------------

    def authenticate(self, key: str | None) -> ApiKey:
        """The active key ``key`` is; AuthenticationError when missing, malformed, unknown,
        revoked or expired (one message for all but the first two: nothing to probe)."""
        if not key:
            raise errors.AuthenticationError(
                "an API key is required: send 'Authorization: Bearer <key>'",
                hint="lark-service apikey create --name NAME --apps APP_ID --scopes SCOPE",
            )
        match = _KEY_RE.match(key)
        if match is None:
            raise errors.AuthenticationError("the API key is not a lark-service key")
        prefix = match.group(1)
        now = self.clock()
        with self._lock:
            cached = self._cache.get(prefix)
        if cached is None or cached[0] <= now:
            record = self._load(prefix)
            with self._lock:
                self._cache[prefix] = (now + self.cache_ttl, record)
        else:
            record = cached[1]
        if record is None or not hmac.compare_digest(record.key_hash, self._hash(key)):
            raise errors.AuthenticationError("the API key is unknown")
        state = record.status(now)
        if state != "active":
            raise errors.AuthenticationError(f"the API key is {state}")
        self._touch(record, now)
        return record

    def authenticate_cached(self, key: str | None) -> ApiKey | None:
        """:meth:`authenticate` when it needs no database (the key's row is cached and its
        last use was recorded less than a minute ago); None when it would (then call
        :meth:`authenticate`, off the event loop). Raises as :meth:`authenticate` does."""
        match = _KEY_RE.match(key or "")
        if match is None:
            return self.authenticate(key)  # refused without any I/O
        now = self.clock()
        with self._lock:
            cached = self._cache.get(match.group(1))
            if cached is None or cached[0] <= now:
                return None
            record = cached[1]
            if record is not None and now - self._touched.get(record.id, 0.0) >= _TOUCH_EVERY:
                return None
        if record is None or not hmac.compare_digest(record.key_hash, self._hash(key or "")):
            raise errors.AuthenticationError("the API key is unknown")
        state = record.status(now)
        if state != "active":
            raise errors.AuthenticationError(f"the API key is {state}")
        return record

    def _load(self, prefix: str) -> ApiKey | None:
        from sqlalchemy import select

        from ..storage.tables import api_keys

        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.key_prefix == prefix)).first()
        return None if row is None else _record(row._mapping)

    def _touch(self, record: ApiKey, now: float) -> None:
        """Record the last use, at most once per minute per key (best effort)."""
        with self._lock:
            if now - self._touched.get(record.id, 0.0) < _TOUCH_EVERY:
                return
            self._touched[record.id] = now
        from sqlalchemy import update

        from ..storage.tables import api_keys

        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(api_keys).where(api_keys.c.id == record.id).values(last_used_at=now)
                )
        except Exception:  # a busy database must not fail the request
            with self._lock:
                self._touched.pop(record.id, None)


def _clean_list(values: Sequence[str], what: str) -> list[str]:
    if isinstance(values, str):
        values = values.split(",")
    cleaned = list(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    if not cleaned:
        raise errors.ValidationError(f"a key needs at least one of {what}", field=what)
    return cleaned


def _record(row: Any) -> ApiKey:
    return ApiKey(
        id=int(row["id"]),
        prefix=str(row["key_prefix"]),
        name=str(row["name"]),
        apps=tuple(row["app_ids"] or ()),
        scopes=tuple(row["scopes"] or ()),
        rate=row["rate"],
        burst=row["burst"],
        created_at=float(row["created_at"]),
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        last_used_at=row["last_used_at"],
        key_hash=str(row["key_hash"]),
    )
