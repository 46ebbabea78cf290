"""The administrative side of the app registry: CRUD, audit trail and key rotation.

:class:`AppRegistry` is the API behind ``lark-service app ...``; it is also a
:class:`~lark_service.apps.RegistrySnapshot`, so a registry opened for administration resolves
apps the way clients do.
"""

from __future__ import annotations

import getpass
import time
from typing import TYPE_CHECKING, Any

from .. import errors
from ..config import FEISHU_BASE_URL
from ._snapshot import RegistrySnapshot, logger
from ._types import (
    _MAX_TEXT,
    _SECRET_FIELDS,
    AppInfo,
    AppSecrets,
    AuditEntry,
    Status,
    _check_app_id,
    _check_secret,
    _check_text,
    _info,
    resolve_domain,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ..storage.crypto import SecretBox

__all__ = ["AppRegistry"]


class AppRegistry(RegistrySnapshot):
    """Feishu apps in the config database (SQLite or PostgreSQL), secrets Fernet-encrypted,
    every change audited.

    ``box`` encrypts and decrypts the secrets (``LARK_CONFIG_ENCRYPTION_KEY``); without one
    the registry can list apps but not read or write a secret
    (:class:`~lark_service.errors.EncryptionKeyError`). Nothing is opened until the first
    call; the schema is migrated then if needed.
    """

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
