"""The callback outbox and the dedup table, in the state database (SQLite or PostgreSQL).

:meth:`OutboxStore.accept` is the heart of "never lost, never twice": in one transaction it
claims every dedup key of the callback in ``processed_events`` (insert, or take over a row
whose 24 h TTL has passed) and writes the callback to ``callback_outbox``. If any key is
already claimed the transaction rolls back and the callback is a duplicate. PostgreSQL's
``INSERT … ON CONFLICT`` makes the claim atomic across processes and hosts; SQLite's
``BEGIN IMMEDIATE`` does so on one machine.

Dedup keys are per app (``<app_id>:evt:<event_id>``, ``<app_id>:msg:<message_id>``): two apps
receiving the same group message each handle it. Payloads are stored without the app's
verification token.

An outbox row is ``pending`` (due at ``available_at``), ``running`` (leased until
``available_at``; an expired lease means its owner died and the row is due again), ``done``,
``dead`` (gave up after the last attempt) or ``no_handler`` (no route of its router matched:
kept visible, listed by ``callbacks dlq list``, never completed). The in-process dispatcher runs
handlers from it; the RabbitMQ dispatcher publishes from it (``done`` = confirmed by the broker).

Every row has an ``owner``: the name of the router (service) that stored it. :meth:`claim`
with an owner takes only that owner's rows (and rows written before owners existed, ``''``),
so two services sharing one state database never run each other's callbacks.

A row whose handler already ran but whose returned card is not applied yet holds that card in
``card_update`` (with ``update_uses``, the callback token's uses spent): a retry applies the
card only, never running the handler again.

:meth:`accept_many` rejects a callback that cannot be stored as given (a lone surrogate, a NUL
in an id) on its own: its result is a :class:`~lark_service.errors.MalformedCallbackError`
and the others in the batch commit.

Methods are blocking; async callers run them in a thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MalformedCallbackError
from .models import without_verification_token

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from .verify import VerifiedCallback

__all__ = ["DEDUP_TTL", "DLQ_STATUSES", "AcceptRequest", "OutboxItem", "OutboxStore"]

DEDUP_TTL = 24 * 3600.0
"""Seconds a processed event id (or message id) is remembered."""

DLQ_STATUSES = ("dead", "no_handler")
"""The statuses ``callbacks dlq list`` shows and ``callbacks dlq replay`` revives."""


@dataclass(frozen=True)
class OutboxItem:
    """One outbox row."""

    id: int
    app_id: str
    kind: str
    event_id: str | None
    event_type: str | None
    payload: dict[str, Any]
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    available_at: float = 0.0
    created_at: float = 0.0
    owner: str = ""
    card_update: dict[str, Any] | None = None
    """The card the handler returned, not yet applied (the handler does not run again)."""
    update_uses: int = 0
    """How many of the callback token's two uses the delayed update has spent."""

    @classmethod
    def running(
        cls, item_id: int, verified: VerifiedCallback, *, owner: str = "", now: float = 0.0
    ) -> OutboxItem:
        """The row just stored for ``verified``, leased to this process (its first attempt)."""
        assert verified.event is not None
        return cls(
            id=item_id,
            app_id=verified.app_id,
            kind=verified.kind,
            event_id=verified.event.event_id,
            event_type=verified.event.event_type,
            payload=verified.payload,
            status="running",
            attempts=1,
            created_at=now,
            owner=owner,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (without the payload)."""
        return {
            "id": self.id,
            "app_id": self.app_id,
            "kind": self.kind,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "status": self.status,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "available_at": self.available_at,
            "created_at": self.created_at,
            "owner": self.owner,
            "stage": "card_update" if self.card_update is not None else "handler",
            "update_uses": self.update_uses,
        }


@dataclass(frozen=True)
class AcceptRequest:
    """One callback to record (see :meth:`OutboxStore.accept`)."""

    app_id: str
    kind: str
    dedup_keys: tuple[str, ...]
    event_id: str | None
    event_type: str | None
    payload: dict[str, Any]
    lease: float | None = None
    owner: str = ""


# Both statements are valid on SQLite (>= 3.35) and PostgreSQL alike.
_CLAIM_SQL = (
    "INSERT INTO processed_events (dedup_key, app_id, processed_at, expires_at) "
    "VALUES (:key, :app_id, :now, :expires) "
    "ON CONFLICT (dedup_key) DO UPDATE SET app_id = excluded.app_id, "
    "processed_at = excluded.processed_at, expires_at = excluded.expires_at "
    "WHERE processed_events.expires_at <= :now "
    "RETURNING dedup_key"
)
_INSERT_SQL = (
    "INSERT INTO callback_outbox (app_id, kind, event_id, event_type, payload, status, "
    "attempts, available_at, created_at, updated_at, owner, update_uses) "
    "VALUES (:app_id, :kind, :event_id, :event_type, :payload, :status, :attempts, "
    ":available_at, :now, :now, :owner, 0) RETURNING id"
)


class _Duplicate(Exception):
    pass


class OutboxStore:
    """The outbox and dedup tables of the state database at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float] = time.time,
        dedup_ttl: float = DEDUP_TTL,
    ) -> None:
        self.url = url
        self.clock = clock
        self.dedup_ttl = dedup_ttl
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """The migrated engine (the schema is brought up to date on first use)."""
        if self._engine is None:
            from ..storage.migrate import ensure_schema

            self._engine = ensure_schema(self.url, "state")
        return self._engine

    def _insert(self, table: Any) -> Any:
        if self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table)

    # -- accepting -----------------------------------------------------------------------

    def accept(
        self,
        *,
        app_id: str,
        kind: str,
        dedup_keys: Sequence[str],
        event_id: str | None,
        event_type: str | None,
        payload: dict[str, Any],
        lease: float | None = None,
        owner: str = "",
    ) -> int | None:
        """Record a verified callback; its outbox id, or None when it is a duplicate.

        With ``lease`` the row starts ``running`` (attempt 1) for the caller to process now;
        otherwise ``pending``. ``owner``: the router (service) the row belongs to. Raises
        :class:`~lark_service.errors.MalformedCallbackError` when the callback cannot be
        stored as given (nothing is written).
        """
        request = AcceptRequest(
            app_id, kind, tuple(dedup_keys), event_id, event_type, payload, lease, owner
        )
        result = self.accept_many([request])[0]
        if isinstance(result, MalformedCallbackError):
            raise result
        return result

    def accept_many(
        self, requests: Sequence[AcceptRequest]
    ) -> list[int | MalformedCallbackError | None]:
        """:meth:`accept` for several callbacks in one transaction (one commit, one fsync);
        each is claimed in its own savepoint, so a duplicate rolls back only itself.

        A callback that cannot be stored as given (text that is not valid Unicode, such as a
        lone surrogate, or a NUL in an id) gets a :class:`MalformedCallbackError` as its result
        instead of failing the whole batch; the others commit. Errors of the database itself
        (unreachable, locked) still fail the batch.
        """
        from sqlalchemy import text

        now = self.clock()
        results: list[int | MalformedCallbackError | None] = []
        claim, insert = text(_CLAIM_SQL), text(_INSERT_SQL)  # plain SQL: no per-call compile
        prepared = [_prepare(req) for req in requests]
        with self.engine.begin() as conn:
            for req, payload_text in prepared:
                if isinstance(payload_text, MalformedCallbackError):
                    results.append(payload_text)
                    continue
                try:
                    with conn.begin_nested():
                        for key in req.dedup_keys:
                            # RETURNING, not rowcount: drivers disagree on an upsert's rowcount.
                            claimed = conn.execute(
                                claim,
                                {
                                    "key": key[:255],
                                    "app_id": req.app_id,
                                    "now": now,
                                    "expires": now + self.dedup_ttl,
                                },
                            ).first()
                            if claimed is None:
                                raise _Duplicate
                        lease = req.lease
                        row = conn.execute(
                            insert,
                            {
                                "app_id": req.app_id,
                                "kind": req.kind,
                                "event_id": (req.event_id or None) and req.event_id[:128],
                                "event_type": (req.event_type or None) and req.event_type[:128],
                                "payload": payload_text,
                                "status": "running" if lease is not None else "pending",
                                "attempts": 1 if lease is not None else 0,
                                "available_at": now + (lease or 0.0),
                                "now": now,
                                "owner": req.owner[:255],
                            },
                        ).first()
                        assert row is not None
                        results.append(int(row[0]))
                except _Duplicate:
                    results.append(None)
        return results

    def is_processed(self, key: str) -> bool:
        """Whether ``key`` (``<app_id>:evt:…``/``<app_id>:msg:…``) is remembered, unexpired."""
        from sqlalchemy import select

        from ..storage.tables import processed_events

        with self.engine.connect() as conn:
            row = conn.execute(
                select(processed_events.c.expires_at).where(processed_events.c.dedup_key == key)
            ).first()
        return row is not None and row[0] > self.clock()

    def remember(self, key: str, app_id: str) -> bool:
        """Record ``key`` in the dedup table for the dedup TTL; False when it was recorded
        (and unexpired) already. Workers record ``<app_id>:handled:<outbox_id>`` with it."""
        from sqlalchemy import text

        now = self.clock()
        with self.engine.begin() as conn:
            row = conn.execute(
                text(_CLAIM_SQL),
                {"key": key[:255], "app_id": app_id, "now": now, "expires": now + self.dedup_ttl},
            ).first()
        return row is not None

    # -- working -------------------------------------------------------------------------

    def claim(self, limit: int, lease: float, *, owner: str | None = None) -> list[OutboxItem]:
        """Lease up to ``limit`` due rows (pending, or running with an expired lease).

        ``owner``: only rows stored by that router (and ownerless rows from before owners
        existed); None: every row (tools and tests).
        """
        from sqlalchemy import select, update

        from ..storage.tables import callback_outbox as t

        now = self.clock()
        with self.engine.begin() as conn:
            query = (
                select(t)
                .where(t.c.status.in_(("pending", "running")), t.c.available_at <= now)
                .order_by(t.c.available_at, t.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            if owner is not None:
                query = query.where(t.c.owner.in_((owner, "")))
            rows = conn.execute(query).mappings().all()
            if not rows:
                return []
            ids = [r["id"] for r in rows]
            conn.execute(
                update(t)
                .where(t.c.id.in_(ids))
                .values(
                    status="running",
                    attempts=t.c.attempts + 1,
                    available_at=now + lease,
                    updated_at=now,
                )
            )
        return [
            _item(r, status="running", attempts=int(r["attempts"]) + 1, available_at=now + lease)
            for r in rows
        ]

    def complete(self, item_id: int) -> None:
        """Mark a row done (handled, or published to the broker)."""
        self.complete_many([item_id])

    def complete_many(self, item_ids: Sequence[int]) -> list[None]:
        """Mark several rows done in one transaction."""
        from sqlalchemy import update

        from ..storage.tables import callback_outbox as t

        ids = list(item_ids)
        if ids:
            now = self.clock()
            with self.engine.begin() as conn:
                conn.execute(
                    update(t)
                    .where(t.c.id.in_(ids))
                    .values(status="done", last_error=None, available_at=now, updated_at=now)
                )
        return [None] * len(ids)

    def retry_later(self, item_id: int, error: str | None, delay: float) -> None:
        """Put a row back to ``pending``, due in ``delay`` seconds."""
        self._set(
            item_id,
            status="pending",
            last_error=(error or None) and error[:2000],
            available_at=self.clock() + delay,
        )

    def release(self, item_ids: Iterable[int]) -> None:
        """Give leased rows back, due now, without counting the attempt (shutdown)."""
        from sqlalchemy import update

        from ..storage.tables import callback_outbox as t

        ids = list(item_ids)
        if not ids:
            return
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.id.in_(ids), t.c.status == "running")
                .values(
                    status="pending",
                    attempts=t.c.attempts - 1,
                    available_at=now,
                    updated_at=now,
                )
            )

    def bury(self, item_id: int, error: str | None) -> None:
        """Mark a row dead (every attempt failed); ``callbacks dlq replay`` revives it."""
        self._set(item_id, status="dead", last_error=(error or None) and error[:2000])

    def no_handler(self, item_id: int, reason: str | None) -> None:
        """Mark a row ``no_handler``: no route matched it. Not done: ``callbacks dlq list``
        shows it and ``callbacks dlq replay`` runs it again (e.g. after deploying a handler)."""
        self._set(item_id, status="no_handler", last_error=(reason or None) and reason[:2000])

    def hold_update(
        self,
        item_id: int,
        card: dict[str, Any],
        *,
        uses: int,
        error: str | None,
        delay: float | None,
    ) -> None:
        """Record that the handler ran and returned ``card``, which is not applied yet.

        ``uses``: the callback token's uses spent so far; ``delay``: retry the update (only)
        in that many seconds, or None to mark the row dead with ``error`` (the update alone
        is dead-lettered; ``callbacks dlq replay`` tries the update again, not the handler).
        """
        values: dict[str, Any] = {
            "card_update": json.dumps(card, ensure_ascii=False, separators=(",", ":")),
            "update_uses": uses,
            "last_error": (error or None) and error[:2000],
        }
        if delay is None:
            values["status"] = "dead"
        else:
            values["status"] = "pending"
            values["available_at"] = self.clock() + delay
        self._set(item_id, **values)

    def _set(self, item_id: int, **values: Any) -> None:
        from sqlalchemy import update

        from ..storage.tables import callback_outbox as t

        now = self.clock()
        values.setdefault("available_at", now)
        with self.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == item_id).values(updated_at=now, **values))

    # -- inspecting ----------------------------------------------------------------------

    def get(self, item_id: int) -> OutboxItem | None:
        """One row, or None."""
        from sqlalchemy import select

        from ..storage.tables import callback_outbox as t

        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == item_id)).mappings().first()
        return _item(row) if row is not None else None

    def items(
        self,
        status: str | Sequence[str] | None = None,
        *,
        limit: int = 100,
        owner: str | None = None,
    ) -> list[OutboxItem]:
        """Rows with ``status`` (one, several, or all when None), oldest first; ``owner``:
        only that router's rows."""
        from sqlalchemy import select

        from ..storage.tables import callback_outbox as t

        query = select(t).order_by(t.c.id).limit(limit)
        if isinstance(status, str):
            query = query.where(t.c.status == status)
        elif status is not None:
            query = query.where(t.c.status.in_(list(status)))
        if owner is not None:
            query = query.where(t.c.owner == owner)
        with self.engine.connect() as conn:
            return [_item(r) for r in conn.execute(query).mappings().all()]

    def counts(self) -> dict[str, int]:
        """How many rows are in each status."""
        from sqlalchemy import func, select

        from ..storage.tables import callback_outbox as t

        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.status, func.count()).group_by(t.c.status)).all()
        return {str(status): int(n) for status, n in rows}

    def revive(self, item_ids: Sequence[int] | None = None) -> int:
        """Dead and ``no_handler`` rows back to ``pending`` with zero attempts (all of them
        when None). A row whose handler already ran keeps its card: only the update runs."""
        from sqlalchemy import update

        from ..storage.tables import callback_outbox as t

        now = self.clock()
        stmt = update(t).where(t.c.status.in_(DLQ_STATUSES))
        if item_ids is not None:
            stmt = stmt.where(t.c.id.in_(list(item_ids)))
        with self.engine.begin() as conn:
            result = conn.execute(
                stmt.values(status="pending", attempts=0, available_at=now, updated_at=now)
            )
        return int(result.rowcount)

    def purge(self, *, done_older_than: float = DEDUP_TTL) -> int:
        """Delete expired dedup keys and done rows older than ``done_older_than`` seconds."""
        from sqlalchemy import delete

        from ..storage.tables import callback_outbox as t
        from ..storage.tables import processed_events as p

        now = self.clock()
        with self.engine.begin() as conn:
            a = conn.execute(delete(p).where(p.c.expires_at <= now)).rowcount
            b = conn.execute(
                delete(t).where(t.c.status == "done", t.c.updated_at <= now - done_older_than)
            ).rowcount
        return int(a) + int(b)

    def ping(self) -> None:
        """Raise when the database cannot be reached."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))


def _prepare(req: AcceptRequest) -> tuple[AcceptRequest, str | MalformedCallbackError]:
    """The payload's JSON text, or why this callback cannot be stored as given."""
    try:
        text = json.dumps(
            without_verification_token(req.payload, req.kind),
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for value in (text, req.app_id, req.event_id, req.event_type, req.owner, *req.dedup_keys):
            if value:
                value.encode("utf-8")  # a lone surrogate cannot be stored
                if "\x00" in value and value is not text:
                    raise ValueError("NUL character")
    except (UnicodeError, ValueError, TypeError) as exc:
        return req, MalformedCallbackError(
            # not the id itself: it may be the undecodable part
            f"the callback cannot be stored: {type(exc).__name__} (text that is not valid "
            "Unicode, or a NUL character)"
        )
    return req, text


def _card(value: Any) -> dict[str, Any] | None:
    if not value:
        return None
    try:
        card = json.loads(value)
    except (TypeError, ValueError):
        return None
    return card if isinstance(card, dict) else None


def _item(row: Any, **override: Any) -> OutboxItem:
    try:
        payload = json.loads(row["payload"])
    except (TypeError, ValueError):
        payload = {}
    data = {
        "id": int(row["id"]),
        "app_id": row["app_id"],
        "kind": row["kind"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "payload": payload if isinstance(payload, dict) else {},
        "status": row["status"],
        "attempts": int(row["attempts"]),
        "last_error": row["last_error"],
        "available_at": float(row["available_at"]),
        "created_at": float(row["created_at"]),
        "owner": row["owner"] or "",
        "card_update": _card(row["card_update"]),
        "update_uses": int(row["update_uses"] or 0),
    }
    data.update(override)
    return OutboxItem(**data)
