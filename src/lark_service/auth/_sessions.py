"""Authorization sessions: one ``state`` per consent link or card, 10 minutes, single use.

A session holds the app, the user it was sent to (the ``user_hint``; None for whoever
completes it), the method (``card`` or ``link``), the scopes, the redirect URI and the PKCE
verifier (encrypted). It lives in the ``auth_sessions`` table of the state database when the
token store is persistent (so the server that receives the redirect need not be the process
that made the link), else in this process's memory. Consuming is atomic: of two concurrent
completions of one ``state`` exactly one gets the session.

Blocking (SQLAlchemy); async callers run it in a worker thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from .. import errors

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ..credentials import TokenStore
    from ..storage.crypto import SecretBox

__all__ = ["AuthSession", "MemorySessionStore", "SessionStore", "SqlSessionStore", "store_for"]


@dataclass(frozen=True)
class AuthSession:
    state: str
    app_id: str
    user: str | None
    method: str
    created_at: float
    expires_at: float
    scopes: tuple[str, ...]
    redirect_uri: str
    code_verifier: str = field(repr=False)
    consumed_at: float | None = None


class SessionStore(Protocol):
    def create(self, session: AuthSession) -> None: ...

    def consume(self, state: str, now: float) -> AuthSession:
        """The session, marked used; AuthSessionExpiredError when unknown, used or expired."""

    def get(self, state: str, now: float) -> AuthSession:
        """The session, not consumed; AuthSessionExpiredError when unknown, used or expired."""

    def pending(
        self, redirect_uri: str, now: float, app_id: str | None = None
    ) -> list[AuthSession]:
        """Live, unused sessions whose ``redirect_uri`` is ``redirect_uri`` (the device-flow
        marker), oldest first."""


def _expired(state: str, why: str) -> errors.AuthSessionExpiredError:
    return errors.AuthSessionExpiredError(
        f"the authorization session {state[:8]}… {why}",
        hint="Start the authorization again: send a new card or link "
        "(`lark-service auth url` on the command line). A link works once, for 10 minutes.",
    )


class MemorySessionStore:
    """Sessions in this process only (no persistent token store)."""

    def __init__(self) -> None:
        self._sessions: dict[str, AuthSession] = {}
        self._guard = threading.Lock()

    def create(self, session: AuthSession) -> None:
        with self._guard:
            self._sessions[session.state] = session

    def consume(self, state: str, now: float) -> AuthSession:
        with self._guard:
            session = self._sessions.get(state)
            if session is None:
                raise _expired(state, "is unknown")
            if session.consumed_at is not None:
                raise _expired(state, "was already used")
            if now >= session.expires_at:
                raise _expired(state, "expired")
            used = replace(session, consumed_at=now)
            self._sessions[state] = used
            return used

    def get(self, state: str, now: float) -> AuthSession:
        with self._guard:
            session = self._sessions.get(state)
        if session is None:
            raise _expired(state, "is unknown")
        if session.consumed_at is not None:
            raise _expired(state, "was already used")
        if now >= session.expires_at:
            raise _expired(state, "expired")
        return session

    def pending(
        self, redirect_uri: str, now: float, app_id: str | None = None
    ) -> list[AuthSession]:
        with self._guard:
            found = [
                s
                for s in self._sessions.values()
                if s.redirect_uri == redirect_uri
                and s.consumed_at is None
                and s.expires_at > now
                and (app_id is None or s.app_id == app_id)
            ]
        return sorted(found, key=lambda s: s.created_at)


class SqlSessionStore:
    """Sessions in ``auth_sessions`` (SQLite or PostgreSQL), the verifier encrypted."""

    def __init__(self, url: str, box: SecretBox) -> None:
        self.url = url
        self.box = box

    def _engine(self) -> Engine:
        from ..storage.migrate import ensure_schema

        return ensure_schema(self.url, "state")

    def create(self, session: AuthSession) -> None:
        from sqlalchemy import insert

        from ..storage.tables import auth_sessions

        with self._engine().begin() as conn:
            conn.execute(
                insert(auth_sessions).values(
                    state=session.state,
                    app_id=session.app_id,
                    user=session.user,
                    method=session.method,
                    created_at=session.created_at,
                    expires_at=session.expires_at,
                    consumed_at=None,
                    code_verifier_enc=self.box.encrypt(session.code_verifier),
                    scopes=list(session.scopes),
                    redirect_uri=session.redirect_uri,
                )
            )

    def consume(self, state: str, now: float) -> AuthSession:
        from sqlalchemy import select, update

        from ..storage.tables import auth_sessions

        table = auth_sessions
        with self._engine().begin() as conn:
            claimed = conn.execute(
                update(table)
                .where(
                    table.c.state == state,
                    table.c.consumed_at.is_(None),
                    table.c.expires_at > now,
                )
                .values(consumed_at=now)
            ).rowcount
            row = conn.execute(select(table).where(table.c.state == state)).first()
        if row is None:
            raise _expired(state, "is unknown")
        if not claimed:
            raise _expired(state, "was already used" if row.consumed_at else "expired")
        if not row.code_verifier_enc:
            raise _expired(state, "was made by an older version (no PKCE verifier)")
        return self._session(row, consumed_at=now)

    def _session(self, row: Any, consumed_at: float | None) -> AuthSession:
        return AuthSession(
            state=row.state,
            app_id=row.app_id,
            user=row.user,
            method=row.method,
            created_at=float(row.created_at),
            expires_at=float(row.expires_at),
            scopes=tuple(row.scopes or ()),
            redirect_uri=row.redirect_uri or "",
            code_verifier=self.box.decrypt(row.code_verifier_enc),
            consumed_at=consumed_at,
        )

    def get(self, state: str, now: float) -> AuthSession:
        from sqlalchemy import select

        from ..storage.tables import auth_sessions

        with self._engine().connect() as conn:
            row = conn.execute(select(auth_sessions).where(auth_sessions.c.state == state)).first()
        if row is None:
            raise _expired(state, "is unknown")
        if row.consumed_at is not None:
            raise _expired(state, "was already used")
        if now >= float(row.expires_at):
            raise _expired(state, "expired")
        if not row.code_verifier_enc:
            raise _expired(state, "was made by an older version (no PKCE verifier)")
        return self._session(row, consumed_at=None)

    def pending(
        self, redirect_uri: str, now: float, app_id: str | None = None
    ) -> list[AuthSession]:
        from sqlalchemy import select

        from ..storage.tables import auth_sessions

        table = auth_sessions
        query = select(table).where(
            table.c.redirect_uri == redirect_uri,
            table.c.consumed_at.is_(None),
            table.c.expires_at > now,
            table.c.code_verifier_enc.is_not(None),
        )
        if app_id is not None:
            query = query.where(table.c.app_id == app_id)
        with self._engine().connect() as conn:
            rows = conn.execute(query.order_by(table.c.created_at)).all()
        return [self._session(row, consumed_at=None) for row in rows]


_MEMORY = MemorySessionStore()


def store_for(token_store: TokenStore) -> SessionStore:
    """Where sessions go for a client whose tokens go to ``token_store``: the same state
    database (and key) when it is persistent, else this process's memory."""
    from ..credentials import SqlTokenStore

    inner: Any = getattr(token_store, "store", token_store)  # HomeTokenStore opens its store
    if isinstance(inner, SqlTokenStore):
        return SqlSessionStore(inner.url, inner.box)
    return _MEMORY
