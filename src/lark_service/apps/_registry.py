"""The app registry: Feishu apps in the config database, secrets encrypted, every change audited.

:class:`AppRegistry` is the :class:`~lark_service._app.AppSource` clients resolve app ids
against, and the API behind ``lark-service app ...``. Reads are served from an in-memory
snapshot that is re-validated at most every ``max_age`` seconds with one cheap query (the
newest audit row, the number of apps and their newest ``updated_at``), so a change made by
the CLI or another process reaches running clients within ``max_age`` without a restart.
"""

from __future__ import annotations

import getpass
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .. import errors
from .._app import AppCredentials
from ..config import FEISHU_BASE_URL, LARK_BASE_URL
from ..logging import get_logger

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Row

    from ..config import Settings
    from ..storage.crypto import SecretBox

__all__ = ["DOMAINS", "AppInfo", "AppRegistry", "AppSecrets", "AuditEntry", "resolve_domain"]

logger = get_logger("lark_service.apps")

Status = Literal["active", "disabled"]

#: Domain names ``--domain`` accepts besides a URL.
DOMAINS: Mapping[str, str] = {"feishu": FEISHU_BASE_URL, "lark": LARK_BASE_URL}

_APP_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_MAX_TEXT = 255
_SECRET_FIELDS = ("app_secret", "encrypt_key", "verification_token")


def resolve_domain(domain: str) -> str:
    """``feishu``/``lark`` or an http(s) base URL, as the base URL (no trailing slash)."""
    value = domain.strip()
    named = DOMAINS.get(value.lower())
    if named is not None:
        return named
    if not re.match(r"^https?://[^\s/]+", value):
        raise errors.ValidationError(
            f"domain must be 'feishu', 'lark' or an http(s) base URL, not {domain!r}",
            field="domain",
        )
    return value.rstrip("/")


@dataclass(frozen=True)
class AppInfo:
    """A registered app as listed and shown: everything but the secret values."""

    app_id: str
    name: str
    description: str
    status: Status
    domain: str
    created_by: str
    created_at: float
    updated_at: float
    has_encrypt_key: bool
    has_verification_token: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (``--json``)."""
        return {
            "app_id": self.app_id,
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "domain": self.domain,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "has_encrypt_key": self.has_encrypt_key,
            "has_verification_token": self.has_verification_token,
        }


@dataclass(frozen=True)
class AppSecrets:
    """An app's decrypted secrets (callbacks need the last two). Never shown in ``repr``."""

    app_secret: str = field(repr=False)
    encrypt_key: str | None = field(default=None, repr=False)
    verification_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class AuditEntry:
    """One change to the registry: who, when, which fields (names only, never values)."""

    id: int
    app_id: str
    action: str
    actor: str
    fields: tuple[str, ...]
    at: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "id": self.id,
            "app_id": self.app_id,
            "action": self.action,
            "actor": self.actor,
            "fields": list(self.fields),
            "at": self.at,
        }


@dataclass
class _Entry:
    info: AppInfo
    secret_enc: str
    credentials: AppCredentials | None = None
    previous: AppCredentials | None = None  # before the secret's ciphertext changed


_Version = tuple[int, int, float]


class AppRegistry:
    """Feishu apps in the config database (SQLite or PostgreSQL), secrets Fernet-encrypted.

    ``box`` encrypts and decrypts the secrets (``LARK_CONFIG_ENCRYPTION_KEY``); without one
    the registry can list apps but not read or write a secret
    (:class:`~lark_service.errors.EncryptionKeyError`). Nothing is opened until the first
    call; the schema is migrated then if needed.
    """

    def __init__(
        self,
        url: str,
        box: SecretBox | None,
        *,
        max_age: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        actor: str | None = None,
        create: bool = True,
    ) -> None:
        """``create=False``: while the SQLite file does not exist, lookups find no apps (and
        create nothing); the file is looked for again at every re-validation."""
        self.url = url
        self.box = box
        self.max_age = max_age
        self.clock = clock
        self.actor = actor
        self.create = create
        self._guard = threading.RLock()
        self._entries: dict[str, _Entry] | None = None
        self._version: _Version | None = None
        self._checked_at = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> AppRegistry:
        """The registry at ``settings.resolved_config_db_url`` with the configured key.

        Raises :class:`~lark_service.errors.EncryptionKeyError` for a malformed key.
        """
        from ..storage.crypto import SecretBox

        key = settings.config_encryption_key
        box = (
            SecretBox(key.get_secret_value())
            if key is not None and key.get_secret_value().strip()
            else None
        )
        return cls(settings.resolved_config_db_url, box, **options)

    def __repr__(self) -> str:
        return f"AppRegistry(max_age={self.max_age})"

    # -- AppSource: what clients read ------------------------------------------------------

    def get_app(self, app_id: str) -> AppCredentials | None:
        """The app with its decrypted secret and domain, or None when it is not registered.

        Disabled apps are returned too (the resolver refuses them). Raises
        :class:`~lark_service.errors.EncryptionKeyError` when the key does not open the
        secret, and :class:`~lark_service.errors.ConfigError` when the database cannot be
        read and nothing was read before.
        """
        entries = self._snapshot()
        entry = entries.get(app_id)
        if entry is None:
            return None
        creds = entry.credentials
        if creds is None:
            try:
                secret = self._require_box().decrypt(entry.secret_enc)
            except errors.EncryptionKeyError as exc:
                if entry.previous is None:
                    raise
                # Another process rotated the key: keep the secret read before, loudly.
                logger.error(
                    "cannot decrypt the secret of app %s (%s); using the one read before. "
                    "Restart with the new LARK_CONFIG_ENCRYPTION_KEY.",
                    app_id,
                    exc.msg,
                    extra={"lark_app_id": app_id},
                )
                secret = entry.previous.app_secret
            creds = AppCredentials(
                app_id=entry.info.app_id,
                app_secret=secret,
                base_url=entry.info.domain,
                source="registry",
                status=entry.info.status,
            )
            entry.credentials = creds
        return creds

    def active_app_ids(self) -> list[str]:
        """The ids of every active app, sorted."""
        return sorted(a for a, e in self._snapshot().items() if e.info.status == "active")

    def is_fresh(self) -> bool:
        """Whether ``get_app``/``active_app_ids`` answer from memory now, without I/O."""
        return self._entries is not None and self.clock() - self._checked_at < self.max_age

    def refresh(self) -> None:
        """Re-read the database now instead of within ``max_age``."""
        with self._guard:
            self._checked_at = float("-inf")
        self._snapshot()

    # -- reading ---------------------------------------------------------------------------

    def list_apps(self) -> list[AppInfo]:
        """Every registered app (active and disabled), by app_id."""
        return [e.info for _, e in sorted(self._load_all().items())]

    def get_info(self, app_id: str) -> AppInfo:
        """The app's public fields. Raises :class:`~lark_service.errors.AppNotFoundError`."""
        entry = self._load_all().get(app_id)
        if entry is None:
            raise self._not_found(app_id)
        return entry.info

    def get_secrets(self, app_id: str) -> AppSecrets:
        """The app's decrypted secrets (app secret, encrypt key, verification token).

        Raises :class:`~lark_service.errors.AppNotFoundError` and
        :class:`~lark_service.errors.EncryptionKeyError`.
        """
        from sqlalchemy import select

        from ..storage.tables import applications

        with self._read() as conn:
            row = conn.execute(select(applications).where(applications.c.app_id == app_id)).first()
        if row is None:
            raise self._not_found(app_id)
        box = self._require_box()
        return AppSecrets(
            app_secret=box.decrypt(row.app_secret_enc),
            encrypt_key=box.decrypt(row.encrypt_key_enc) if row.encrypt_key_enc else None,
            verification_token=(
                box.decrypt(row.verification_token_enc) if row.verification_token_enc else None
            ),
        )

    def audit(self, app_id: str | None = None, *, limit: int | None = None) -> list[AuditEntry]:
        """Changes to the registry, newest first (of one app when ``app_id`` is given)."""
        from sqlalchemy import select

        from ..storage.tables import application_audit as audit

        query = select(audit).order_by(audit.c.id.desc())
        if app_id is not None:
            query = query.where(audit.c.app_id == app_id)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [
            AuditEntry(
                id=int(r.id),
                app_id=r.app_id,
                action=r.action,
                actor=r.actor,
                fields=tuple(r.fields_changed or ()),
                at=float(r.at),
            )
            for r in rows
        ]

    # -- changing --------------------------------------------------------------------------

    def add_app(
        self,
        app_id: str,
        app_secret: str,
        *,
        name: str = "",
        description: str = "",
        encrypt_key: str | None = None,
        verification_token: str | None = None,
        domain: str = FEISHU_BASE_URL,
        status: Status = "active",
        actor: str | None = None,
    ) -> AppInfo:
        """Register an app. Raises :class:`~lark_service.errors.ValidationError` for bad
        input or an app_id that is already registered, and
        :class:`~lark_service.errors.EncryptionKeyError` when the key is missing or does not
        open the secrets already stored."""
        from sqlalchemy import insert, select

        from ..storage.tables import applications

        _check_app_id(app_id)
        _check_secret("app_secret", app_secret)
        for label, value in (
            ("encrypt_key", encrypt_key),
            ("verification_token", verification_token),
        ):
            if value is not None:
                _check_secret(label, value)
        _check_text("name", name)
        if status not in ("active", "disabled"):
            raise errors.ValidationError(
                f"status must be 'active' or 'disabled', not {status!r}", field="status"
            )
        base_url = resolve_domain(domain)
        box = self._require_box()
        who = self._actor(actor)
        now = time.time()
        given = ["app_secret", "name", "description", "domain", "status"]
        given += [
            n
            for n, v in (("encrypt_key", encrypt_key), ("verification_token", verification_token))
            if v
        ]
        with self._write() as conn:
            self._check_key(conn)
            exists = conn.execute(
                select(applications.c.app_id).where(applications.c.app_id == app_id)
            ).first()
            if exists is not None:
                raise errors.ValidationError(
                    f"app {app_id} is already registered",
                    field="app_id",
                    hint=f"Change it with `lark-service app update {app_id} ...`, or remove it "
                    "first.",
                )
            conn.execute(
                insert(applications).values(
                    app_id=app_id,
                    name=name,
                    description=description,
                    app_secret_enc=box.encrypt(app_secret),
                    encrypt_key_enc=box.encrypt(encrypt_key) if encrypt_key else None,
                    verification_token_enc=(
                        box.encrypt(verification_token) if verification_token else None
                    ),
                    status=status,
                    domain=base_url,
                    created_by=who,
                    created_at=now,
                    updated_at=now,
                )
            )
            self._audit(conn, app_id, "add", who, sorted(given), now)
        logger.info("registered app %s", app_id, extra={"lark_app_id": app_id})
        self._invalidate()
        return self.get_info(app_id)

    def update_app(
        self,
        app_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        app_secret: str | None = None,
        encrypt_key: str | None = None,
        verification_token: str | None = None,
        domain: str | None = None,
        actor: str | None = None,
    ) -> AppInfo:
        """Change some fields of an app (None leaves a field as it is; ``""`` clears the
        encrypt key or verification token). Raises
        :class:`~lark_service.errors.AppNotFoundError`,
        :class:`~lark_service.errors.ValidationError` and
        :class:`~lark_service.errors.EncryptionKeyError`."""
        from sqlalchemy import select, update

        from ..storage.tables import applications

        if app_secret is not None:
            _check_secret("app_secret", app_secret)
        if name is not None:
            _check_text("name", name)
        base_url = resolve_domain(domain) if domain is not None else None
        secrets_given = {
            "app_secret": app_secret,
            "encrypt_key": encrypt_key,
            "verification_token": verification_token,
        }
        box = self._require_box() if any(v for v in secrets_given.values()) else self.box
        who = self._actor(actor)
        now = time.time()
        with self._write() as conn:
            row = conn.execute(select(applications).where(applications.c.app_id == app_id)).first()
            if row is None:
                raise self._not_found(app_id)
            values: dict[str, Any] = {}
            changed: list[str] = []
            for label, new in (("name", name), ("description", description), ("domain", base_url)):
                if new is not None and new != getattr(row, label):
                    values[label] = new
                    changed.append(label)
            for label, secret in secrets_given.items():
                if secret is None:
                    continue
                column = f"{label}_enc"
                if secret == "":
                    if label == "app_secret":
                        raise errors.ValidationError("app_secret cannot be empty", field=label)
                    if getattr(row, column) is not None:
                        values[column] = None
                        changed.append(label)
                    continue
                assert box is not None
                self._check_key(conn)
                current = getattr(row, column)
                if current is not None and box.decrypt(current) == secret:
                    continue
                values[column] = box.encrypt(secret)
                changed.append(label)
            if not changed:
                return _info(row)
            values["updated_at"] = max(now, float(row.updated_at) + 1e-6)
            conn.execute(
                update(applications).where(applications.c.app_id == app_id).values(**values)
            )
            self._audit(conn, app_id, "update", who, sorted(changed), now)
        logger.info(
            "updated app %s (%s)", app_id, ", ".join(sorted(changed)), extra={"lark_app_id": app_id}
        )
        self._invalidate()
        return self.get_info(app_id)

    def enable_app(self, app_id: str, *, actor: str | None = None) -> AppInfo:
        """Mark the app active. Raises :class:`~lark_service.errors.AppNotFoundError`."""
        return self._set_status(app_id, "active", actor)

    def disable_app(self, app_id: str, *, actor: str | None = None) -> AppInfo:
        """Mark the app disabled: calls as it then fail with
        :class:`~lark_service.errors.AppDisabledError` before any request. Raises
        :class:`~lark_service.errors.AppNotFoundError`."""
        return self._set_status(app_id, "disabled", actor)

    def remove_app(self, app_id: str, *, actor: str | None = None) -> None:
        """Delete the app (its audit trail stays). Raises
        :class:`~lark_service.errors.AppNotFoundError`."""
        from sqlalchemy import delete

        from ..storage.tables import applications

        who = self._actor(actor)
        now = time.time()
        with self._write() as conn:
            deleted = conn.execute(
                delete(applications).where(applications.c.app_id == app_id)
            ).rowcount
            if not deleted:
                raise self._not_found(app_id)
            self._audit(conn, app_id, "remove", who, [], now)
        logger.info("removed app %s", app_id, extra={"lark_app_id": app_id})
        self._invalidate()

    def rotate_key(self, box: SecretBox, *, actor: str | None = None) -> int:
        """Re-encrypt every app's secrets under ``box``'s first key, in one transaction.

        ``box`` must hold the new key first and the current ones after it. Nothing is written
        when any secret cannot be decrypted
        (:class:`~lark_service.errors.EncryptionKeyError`). Returns the number of apps.
        """
        from sqlalchemy import select, update

        from ..storage.tables import applications

        who = self._actor(actor)
        now = time.time()
        with self._write() as conn:
            rows = conn.execute(select(applications)).all()
            for row in rows:
                values: dict[str, Any] = {}
                for label in _SECRET_FIELDS:
                    current = getattr(row, f"{label}_enc")
                    if current is not None:
                        values[f"{label}_enc"] = box.rotate(current)
                values["updated_at"] = max(now, float(row.updated_at) + 1e-6)
                conn.execute(
                    update(applications).where(applications.c.app_id == row.app_id).values(**values)
                )
                fields = [n for n in _SECRET_FIELDS if getattr(row, f"{n}_enc") is not None]
                self._audit(conn, row.app_id, "rotate", who, fields, now)
        self.box = box
        self._invalidate()
        logger.info("re-encrypted the secrets of %d app(s) under the new key", len(rows))
        return len(rows)

    def check_key(self) -> None:
        """Raise :class:`~lark_service.errors.EncryptionKeyError` unless the configured key
        opens the stored secrets (a registry with no apps accepts any key)."""
        with self._read() as conn:
            self._check_key(conn)

    # -- internals -------------------------------------------------------------------------

    def _engine(self) -> Engine:
        from ..storage.migrate import ensure_schema

        try:
            return ensure_schema(self.url, "config")
        except errors.LarkError:
            raise
        except Exception as exc:
            raise self._unreachable(exc) from None

    def _read(self) -> Any:
        return _Transaction(self, write=False)

    def _write(self) -> Any:
        return _Transaction(self, write=True)

    def _require_box(self) -> SecretBox:
        if self.box is None:
            raise errors.EncryptionKeyError(
                "LARK_CONFIG_ENCRYPTION_KEY is not set: app secrets cannot be read or written",
                hint="Run `lark-service init` (it creates a key in $LARK_HOME/.env), or set "
                "LARK_CONFIG_ENCRYPTION_KEY.",
            )
        return self.box

    def _check_key(self, conn: Connection) -> None:
        from sqlalchemy import select

        from ..storage.tables import applications

        row = conn.execute(select(applications.c.app_secret_enc).limit(1)).first()
        if row is not None:
            self._require_box().decrypt(row.app_secret_enc)

    def _actor(self, actor: str | None) -> str:
        who = actor or self.actor
        if not who:
            try:
                who = getpass.getuser()
            except Exception:
                who = "unknown"
        return who[:_MAX_TEXT]

    @staticmethod
    def _audit(
        conn: Connection, app_id: str, action: str, actor: str, fields: list[str], at: float
    ) -> None:
        from sqlalchemy import insert

        from ..storage.tables import application_audit

        conn.execute(
            insert(application_audit).values(
                app_id=app_id, action=action, actor=actor, fields_changed=fields, at=at
            )
        )

    def _set_status(self, app_id: str, status: Status, actor: str | None) -> AppInfo:
        from sqlalchemy import select, update

        from ..storage.tables import applications

        who = self._actor(actor)
        now = time.time()
        with self._write() as conn:
            row = conn.execute(
                select(applications.c.status, applications.c.updated_at).where(
                    applications.c.app_id == app_id
                )
            ).first()
            if row is None:
                raise self._not_found(app_id)
            if row.status != status:
                conn.execute(
                    update(applications)
                    .where(applications.c.app_id == app_id)
                    .values(status=status, updated_at=max(now, float(row.updated_at) + 1e-6))
                )
                action = "enable" if status == "active" else "disable"
                self._audit(conn, app_id, action, who, ["status"], now)
                logger.info("%sd app %s", action, app_id, extra={"lark_app_id": app_id})
        self._invalidate()
        return self.get_info(app_id)

    def _invalidate(self) -> None:
        with self._guard:
            self._checked_at = float("-inf")

    def _not_found(self, app_id: str) -> errors.AppNotFoundError:
        try:
            known = self.active_app_ids()
        except errors.LarkError:
            known = []
        return errors.AppNotFoundError(
            f"app {app_id} is not registered",
            hint=(f"Registered active apps: {', '.join(known)}. " if known else "")
            + "Add it with `lark-service app add`.",
        )

    def _unreachable(self, exc: BaseException) -> errors.ConfigError:
        from ..storage.engine import normalize_url

        try:
            from sqlalchemy.engine import make_url

            where = make_url(normalize_url(self.url)).render_as_string(hide_password=True)
        except Exception:
            where = "the configured URL"
        orig = getattr(exc, "orig", None) or exc
        detail = (str(orig).strip().splitlines() or [""])[0][:200]
        return errors.ConfigError(
            f"the app registry at {where} failed ({type(orig).__name__}: {detail})",
            hint="Check LARK_CONFIG_DB_URL and that the database is reachable; "
            "`lark-service init` creates the default one.",
        )

    def _snapshot(self) -> dict[str, _Entry]:
        """The cached apps, re-validated when older than ``max_age``."""
        now = self.clock()
        entries = self._entries
        if entries is not None and now - self._checked_at < self.max_age:
            return entries
        with self._guard:
            if self._entries is not None and now - self._checked_at < self.max_age:
                return self._entries
            try:
                if not self.create and not self._exists():
                    self._entries, self._version = {}, None
                    self._checked_at = now
                    return self._entries
                version = self._read_version()
                if self._entries is None or version != self._version:
                    self._entries = self._merge(self._load_all())
                    self._version = version
            except errors.LarkError as exc:
                if self._entries is None:
                    raise
                logger.error("app registry unreadable, using the apps read before: %s", exc.msg)
            self._checked_at = now
            return self._entries

    def _exists(self) -> bool:
        """Whether the database is there (always, for a server database)."""
        from ..storage.engine import sqlite_path

        path = sqlite_path(self.url)
        return path is None or path.expanduser().is_file()

    def _merge(self, fresh: dict[str, _Entry]) -> dict[str, _Entry]:
        """Keep decrypted credentials of apps whose secret and domain did not change."""
        old = self._entries or {}
        for app_id, entry in fresh.items():
            before = old.get(app_id)
            if before is None or before.credentials is None:
                continue
            if (
                before.secret_enc == entry.secret_enc
                and before.info.domain == entry.info.domain
                and before.info.status == entry.info.status
            ):
                entry.credentials = before.credentials
            else:
                entry.previous = before.credentials
        return fresh

    def _read_version(self) -> _Version:
        from sqlalchemy import func, select

        from ..storage.tables import application_audit, applications

        query = select(
            select(func.coalesce(func.max(application_audit.c.id), 0)).scalar_subquery(),
            select(func.count()).select_from(applications).scalar_subquery(),
            select(func.coalesce(func.max(applications.c.updated_at), 0.0)).scalar_subquery(),
        )
        with self._read() as conn:
            row = conn.execute(query).one()
        return int(row[0]), int(row[1]), float(row[2])

    def _load_all(self) -> dict[str, _Entry]:
        from sqlalchemy import select

        from ..storage.tables import applications

        with self._read() as conn:
            rows = conn.execute(select(applications)).all()
        return {row.app_id: _Entry(info=_info(row), secret_enc=row.app_secret_enc) for row in rows}


class _Transaction:
    """``with registry._read() as conn`` / ``_write()``: one transaction, errors made clear."""

    def __init__(self, registry: AppRegistry, *, write: bool) -> None:
        self._registry = registry
        self._write = write
        self._cm: Any = None

    def __enter__(self) -> Connection:
        engine = self._registry._engine()
        try:
            if self._write:
                self._cm = engine.begin()
            else:
                self._cm = engine.execution_options(sqlite_begin="DEFERRED").connect()
            conn: Connection = self._cm.__enter__()
        except Exception as exc:
            raise self._registry._unreachable(exc) from None
        return conn

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        try:
            self._cm.__exit__(exc_type, exc, tb)
        except Exception as failure:
            if exc is None:
                raise self._registry._unreachable(failure) from None
        if exc is not None and not isinstance(exc, errors.LarkError):
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, SQLAlchemyError):
                raise self._registry._unreachable(exc) from None


def _info(row: Row[Any]) -> AppInfo:
    return AppInfo(
        app_id=row.app_id,
        name=row.name,
        description=row.description,
        status=row.status,
        domain=row.domain,
        created_by=row.created_by,
        created_at=float(row.created_at),
        updated_at=float(row.updated_at),
        has_encrypt_key=row.encrypt_key_enc is not None,
        has_verification_token=row.verification_token_enc is not None,
    )


def _check_app_id(app_id: str) -> None:
    if not isinstance(app_id, str) or not _APP_ID.match(app_id):
        raise errors.ValidationError(
            "app_id must be 1-64 letters, digits, '_', '-' or '.', e.g. cli_a1b2c3 "
            f"(got {app_id!r})",
            field="app_id",
        )


def _check_secret(label: str, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise errors.ValidationError(f"{label} cannot be empty", field=label)
    if value != value.strip():
        raise errors.ValidationError(
            f"{label} has leading or trailing whitespace (a copy-paste slip?)", field=label
        )


def _check_text(label: str, value: str) -> None:
    if len(value) > _MAX_TEXT:
        raise errors.ValidationError(f"{label} is longer than {_MAX_TEXT} characters", field=label)
