"""``Idempotency-Key`` on gateway writes: the first answer, kept 24 h, replayed to repeats.

Per API key, in the state database (table ``gateway_idempotency``), so every server process
and host sees the same answers. The first request inserts a pending row, calls Feishu and
stores its answer; a repeat with the same key and the same request (method, path, query and
body hash) gets that answer back without calling Feishu; while the first is still running a
repeat gets 409 (a claim unanswered for 10 minutes is taken as abandoned by a server that
died, and runs again); the same key with a different request gets 409 too. Answers that say
"try again" (429 and 5xx) are not kept: the row is deleted so the caller can retry (message
sends stay safe: the key is also their Feishu ``uuid``, which Feishu deduplicates for 1 h).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import errors

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["TTL", "IdempotencyStore", "Replay", "feishu_uuid", "fingerprint"]

TTL = 24 * 3600.0
_NAMESPACE = uuid.UUID("6f1c2d4e-8a4b-4f6e-9a51-3c7d0b2e9f10")


def feishu_uuid(api_key_id: int, idempotency_key: str) -> str:
    """The Feishu ``uuid`` (36 characters; Feishu takes 50) a send with this key carries:
    the same for every repeat of the key by the same API key, different across keys."""
    return str(uuid.uuid5(_NAMESPACE, f"{api_key_id}:{idempotency_key}"))


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests "the same": method, path, query string and body."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass(frozen=True)
class Replay:
    """A stored answer."""

    status_code: int
    body: dict[str, Any]


class IdempotencyStore:
    """Stored answers of writes sent with an ``Idempotency-Key`` (see the module doc)."""

    def __init__(
        self,
        database_url: str,
        *,
        clock: Callable[[], float] = time.time,
        ttl: float = TTL,
        abandon_after: float = 600.0,
    ) -> None:
        self.database_url = database_url
        self.clock = clock
        self.ttl = ttl
        self.abandon_after = abandon_after
        """A claim still unanswered after this many seconds is taken as abandoned (its
        server died mid-request) and may be claimed again."""
        self._engine: Engine | None = None
        self._next_purge = 0.0

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            from ..storage.migrate import ensure_schema

            self._engine = ensure_schema(self.database_url, "state")
        return self._engine

    def begin(self, api_key_id: int, key: str, request_fingerprint: str) -> Replay | None:
        """Claim ``key``: None when this request runs (call :meth:`finish` after), or the
        stored answer to replay. Raises IdempotencyConflictError (409)."""
        from sqlalchemy import delete, insert, select
        from sqlalchemy.exc import IntegrityError

        from ..storage.tables import gateway_idempotency as table

        now = self.clock()
        self._purge(now)
        where = (table.c.api_key_id == api_key_id) & (table.c.idempotency_key == key)
        for _ in range(3):
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(table).values(
                            api_key_id=api_key_id,
                            idempotency_key=key,
                            fingerprint=request_fingerprint,
                            created_at=now,
                            expires_at=now + self.ttl,
                        )
                    )
                return None
            except IntegrityError:
                pass
            with self.engine.begin() as conn:
                row = conn.execute(select(table).where(where)).first()
                if row is None:
                    continue  # deleted meanwhile: try to claim it again
                abandoned = row.status_code is None and row.created_at + self.abandon_after <= now
                if row.expires_at <= now or abandoned:
                    conn.execute(delete(table).where(where))
                    continue
            if row.fingerprint != request_fingerprint:
                raise errors.IdempotencyConflictError(
                    "this Idempotency-Key was already used for a different request",
                    hint="Use a new Idempotency-Key for each distinct request.",
                )
            if row.status_code is None:
                raise errors.IdempotencyConflictError(
                    "a request with this Idempotency-Key is still running",
                    hint="Retry in a moment to get its answer.",
                )
            return Replay(int(row.status_code), json.loads(row.response))
        raise errors.IdempotencyConflictError(
            "this Idempotency-Key is being claimed concurrently; retry"
        )

    def finish(self, api_key_id: int, key: str, status_code: int, body: dict[str, Any]) -> None:
        """Keep the answer (2xx and 4xx but 429), or release the key (429, 5xx)."""
        from sqlalchemy import delete, update

        from ..storage.tables import gateway_idempotency as table

        where = (table.c.api_key_id == api_key_id) & (table.c.idempotency_key == key)
        with self.engine.begin() as conn:
            if status_code == 429 or status_code >= 500:
                conn.execute(delete(table).where(where))
            else:
                conn.execute(
                    update(table)
                    .where(where)
                    .values(status_code=status_code, response=json.dumps(body))
                )

    def _purge(self, now: float) -> None:
        if now < self._next_purge:
            return
        self._next_purge = now + 600.0
        from sqlalchemy import delete

        from ..storage.tables import gateway_idempotency as table

        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.expires_at <= now))
