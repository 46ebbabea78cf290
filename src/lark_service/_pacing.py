"""Client-side pacing of every call: a per-app table of Feishu's documented limits, keyed by
endpoint family, and a :class:`Pacer` that keeps each app under them.

Pure, thread-safe code used by the async pipeline and its sync twin alike. The pacer never
sleeps: it tells the caller how long to wait and the caller sleeps (``_concurrency.sleep`` /
``async_sleep``), so one object paces threads and asyncio tasks, and tests drive it with a
fake clock and no sleeping.

The table (limits are data, see :data:`DEFAULT_LIMITS` and ``docs/pacing.md``)
-----------------------------------------------------------------------------------

A request is classified by method and path into a *family* (``im.send``, ``docx.edit``,
``bitable.write`` …, or ``default``, which has no limit) and, for families with a per-key
limit, a *key*: the receiver of a message, the document being edited, the Bitable table
being written. The key comes from the path where the path holds it (document, table,
message, card) and otherwise from ``RequestOptions.pacing_key``, which domain methods set
(``send_*`` sets it to the ``receive_id``). Each family's :class:`Limits`:

- ``per_second`` / ``per_minute``: the app's budget for the family (the minute counted over
  :data:`MINUTE`, 61 s, so admit-to-arrival skew cannot put one call too many in Feishu's
  minute);
- ``per_key``: calls per second per key (5/s per receiver, 3/s per document);
- ``exclusive``: one call at a time per key (per app when there is no key): Bitable allows
  one writer per table.

Overrides per client: ``PacingTable.default().with_limits({"im.send": {"per_second": 20}})``
(a mapping changes the named fields, ``None`` as a value switches that limit off; a
:class:`Limits` replaces the family's limits; ``None`` for a family switches all its limits
off). A user's own domain adds a family with :meth:`PacingTable.with_family`.

What the pipeline calls, once per request
-----------------------------------------

::

    family, key = pacer.route(method, path, options.pacing_key)
    async with pacer.async_lease(app.app_id, family, key):   # sync twin: pacer.lease(...)
        ...  # for every attempt (the retry loop), before sending:
        delay = pacer.reserve(app.app_id, family, key)        # a slot on the pacing grid
        if delay > 0:
            await _concurrency.async_sleep(delay)
        while True:
            if pacer.needs_io(family):                          # a Redis round trip
                wait = await _concurrency.async_blocking(pacer.admit, app.app_id, family, key)
            else:
                wait = pacer.admit(app.app_id, family, key)
            if wait <= 0:
                break
            await _concurrency.async_sleep(wait)                 # rare: the window is full

``route`` is cheap (a dict lookup for paths of services without rules); ``reserve`` and
``admit`` return 0.0 at once, without a lock, for a family with no rate (``default``);
``lease`` returns a shared no-op context manager for a family that is not exclusive.
``reserve`` spreads calls evenly: calls of one app and family sit on a grid
``1/per_second`` apart, calls to one key at least ``1/per_key`` apart, and a call waiting for
its key takes a later grid slot without holding up the others. ``admit`` is the guarantee: it
lets a call go only if the last second holds fewer than ``ceil(per_second)`` calls of the
app's family and ``ceil(per_key)`` to the key, and the last 61 s fewer than
``ceil(per_minute)``, counting when calls actually went, so a stall that wakes many sleepers
at once cannot burst past a limit.

The lease (``exclusive`` families) is a per-(app, family, key) lock shared by threads and
every event loop: ``with pacer.lease(...)`` holds a ``threading.Lock``; ``async with
pacer.async_lease(...)`` queues tasks on an asyncio lock and takes the same thread lock
without blocking the loop (``_concurrency.AsyncKeyedLocks``). Hold it around the whole call,
retries included, so a retried write never overlaps the next writer.

Fleet-wide budget
-----------------

Each process paces alone: N processes without a shared budget may together send N × the
limit. :class:`RedisBudget` (``LARK_REDIS_URL``; ``Pacer.from_settings``) moves ``admit``'s
per-app per-second and per-minute windows and the per-key windows into Redis sorted sets,
checked and updated by one Lua script (atomic), so every process of a fleet shares them.
``reserve`` stays local (it only spreads a process's own calls). When Redis cannot be
reached the pacer logs one WARNING and paces per process until Redis answers again (checked
again after :data:`REDIS_RETRY_AFTER` seconds). Exclusive leases stay per process.

Instrumentation: when the pacer tells a caller to wait (``reserve`` or ``admit`` > 0) it
emits ``pacing.waited`` with ``family``, ``key`` (the *kind* of key: ``receiver``,
``document``, ``table``, ``message``, ``card`` or None; never the id itself), ``delay`` and
``stage`` (``reserve``/``admit``). The caller emits nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from . import instrumentation
from ._concurrency import AsyncKeyedLocks, KeyedLocks
from .errors import ValidationError
from .logging import get_logger

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager, AbstractContextManager

    from .config import Settings

__all__ = [
    "DEFAULT_FAMILY",
    "DEFAULT_LIMITS",
    "DEFAULT_RULES",
    "HEADROOM",
    "MINUTE",
    "REDIS_RETRY_AFTER",
    "Limits",
    "Pacer",
    "PacingRoute",
    "PacingRule",
    "PacingTable",
    "RedisBudget",
    "family_of",
]

logger = get_logger("lark_service.pacing")

HEADROOM = 0.9
"""Per-second paces run 10 % under Feishu's figure, so network jitter that bunches two calls
together does not push a second over it (measured: exactly 50/s got ~5 % of sends throttled
against the emulator's sliding window)."""
MINUTE = 61.0
"""The per-minute window, a second longer than Feishu's: Feishu counts a call when it arrives,
a little after it was admitted here, and that skew must not put one call too many in its
minute. Per-minute figures take no headroom (the window slides, so no fixed minute of
Feishu's can see more than it admits)."""
DEFAULT_FAMILY = "default"
REDIS_RETRY_AFTER = 30.0
"""Seconds a pacer with an unreachable Redis paces per process before trying Redis again."""
_PRUNE_EVERY = 1024
_EPS = 1e-9


@dataclass(frozen=True)
class Limits:
    """One endpoint family's limits for one app; ``None`` switches a limit off.

    ``per_second`` and ``per_minute`` are the app's budget for the family; ``per_key`` is
    calls per second per key (``key`` names what the key is: ``receiver``, ``document``…);
    ``exclusive`` allows one call at a time per key (per app without a key). ``source`` says
    where the figures come from (documentation only).
    """

    per_second: float | None = None
    per_minute: float | None = None
    per_key: float | None = None
    exclusive: bool = False
    key: str | None = None
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("per_second", "per_minute", "per_key"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValidationError(
                    f"{name} must be a number of calls (or None), got {value!r}", field=name
                )
            if not value > 0 or math.isinf(value):
                raise ValidationError(f"{name} must be positive (or None), got {value}", field=name)

    @property
    def paced(self) -> bool:
        """Whether any rate applies (``reserve``/``admit`` have work to do)."""
        return (
            self.per_second is not None or self.per_minute is not None or (self.per_key is not None)
        )


NO_LIMITS = Limits()


def _per_second(feishu: float) -> float:
    return round(feishu * HEADROOM, 6)


DEFAULT_LIMITS: Mapping[str, Limits] = {
    # Sources: /work/shared/openapi-reference.md (D = Feishu's documentation) and the
    # "接口频率限制" row of each endpoint's page on open.feishu.cn / open.larkoffice.com.
    "im.send": Limits(
        per_second=_per_second(50),
        per_minute=1000,
        per_key=_per_second(5),
        key="receiver",
        source="IM send/reply: 1000/min and 50/s per app, 5 QPS per user and per group",
    ),
    "im.card_update": Limits(
        per_key=_per_second(5),
        key="message",
        source="update a sent card (PATCH im/v1/messages/:id): 5 QPS per message",
    ),
    "im.chat_list": Limits(
        per_second=_per_second(50),
        per_minute=1000,
        source="list / search chats (im/v1/chats): 1000/min, 50/s per app",
    ),
    "im.chat_members": Limits(
        per_second=_per_second(50),
        per_minute=1000,
        source="chat members (im/v1/chats/:id/members): 1000/min, 50/s per app",
    ),
    "cardkit.card": Limits(
        per_key=_per_second(10),
        key="card",
        source="CardKit: 10 ops/s per card entity",
    ),
    "docx.edit": Limits(
        per_second=_per_second(3),
        per_key=_per_second(3),
        key="document",
        source="Docx block edits: 3 calls/s per app, 3 edits/s per document",
    ),
    "drive.media_upload": Limits(
        per_second=_per_second(5),
        exclusive=True,
        source="Drive media upload: 5 QPS, no concurrency (1061045)",
    ),
    "drive.permission": Limits(
        per_minute=100,
        source="Drive permission-member APIs: 100 calls/min",
    ),
    "bitable.write": Limits(
        exclusive=True,
        key="table",
        source="Bitable: writes to one table must not run concurrently (1254291)",
    ),
    # Contact: users/batch_get_id, users/find_by_department and departments/:id/children
    # each say 1000/min and 50/s per app. The limit is per endpoint; pooling users/* and
    # departments/* under one budget each is conservative. Other contact/v3 user and
    # department endpoints are assumed to share the default tier (unverified).
    "contact.users": Limits(
        per_second=_per_second(50),
        per_minute=1000,
        source="contact/v3 users (batch_get_id, find_by_department): 1000/min, 50/s per app",
    ),
    "contact.departments": Limits(
        per_second=_per_second(50),
        per_minute=1000,
        source="contact/v3 departments (children): 1000/min, 50/s per app",
    ),
    "sheets.write": Limits(
        per_second=_per_second(100),
        source="Sheets v2 writes and styles: 100 calls/s per app",
    ),
    DEFAULT_FAMILY: NO_LIMITS,
}
"""Feishu's documented limits per endpoint family (``docs/pacing.md`` lists the sources)."""


class PacingRoute(NamedTuple):
    """Where a request's pacing is counted: its family and, for per-key limits, the key."""

    family: str
    key: str | None


class PacingRule:
    """``METHODS /path/template`` → ``family``: ``{name}`` matches one path segment, ``*`` one
    anonymous segment, a trailing ``/**`` any further segments (or none). ``key`` is a format
    string over the named segments (``"{document_id}"``) giving the per-key key."""

    __slots__ = ("family", "key", "methods", "pattern", "service", "template")

    def __init__(
        self,
        family: str,
        methods: str | Iterable[str],
        template: str,
        *,
        key: str | None = None,
    ) -> None:
        if isinstance(methods, str):
            methods = methods.split("|") if methods != "*" else ()
        self.family = family
        self.methods = frozenset(m.upper() for m in methods)
        self.template = template
        self.key = key
        self.pattern = _compile(template)
        self.service = _service(template)

    def match(self, method: str, path: str) -> PacingRoute | None:
        if self.methods and method not in self.methods:
            return None
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        key = self.key.format(**found.groupdict()) if self.key is not None else None
        return PacingRoute(self.family, key)

    def __repr__(self) -> str:
        methods = "|".join(sorted(self.methods)) or "*"
        return f"PacingRule({self.family!r}, {methods!r}, {self.template!r})"


def _compile(template: str) -> re.Pattern[str]:
    parts = template.strip("/").split("/")
    out = ""
    for index, part in enumerate(parts):
        if part == "**":
            if index != len(parts) - 1:
                raise ValidationError(f"'**' must end a pacing template: {template}")
            out += "(?:/[^/]+)*"
        elif part == "*":
            out += "/[^/]+"
        elif part.startswith("{") and part.endswith("}"):
            out += f"/(?P<{part[1:-1]}>[^/]+)"
        else:
            out += "/" + re.escape(part)
    return re.compile(out + "/?")


def _service(path: str) -> str:
    """``/open-apis/im/v1/...`` → ``im`` (the first segment after ``/open-apis``)."""
    start = 11 if path.startswith("/open-apis/") else 1
    end = path.find("/", start)
    return path[start:end] if end != -1 else path[start:]


_WRITES = "POST|PUT|PATCH|DELETE"
_RECORDS = "/open-apis/bitable/v1/apps/{app_token}/tables/{table_id}"

DEFAULT_RULES: tuple[PacingRule, ...] = (
    PacingRule("im.send", "POST", "/open-apis/im/v1/messages"),
    PacingRule("im.send", "POST", "/open-apis/im/v1/messages/{message_id}/reply"),
    PacingRule("im.send", "POST", "/open-apis/im/v1/messages/{message_id}/forward"),
    PacingRule("im.send", "POST", "/open-apis/im/v1/messages/merge_forward"),
    PacingRule(
        "im.card_update", "PATCH", "/open-apis/im/v1/messages/{message_id}", key="{message_id}"
    ),
    PacingRule("im.chat_list", "GET", "/open-apis/im/v1/chats"),
    PacingRule("im.chat_list", "GET", "/open-apis/im/v1/chats/search"),
    PacingRule("im.chat_list", "POST", "/open-apis/im/v2/chats/search"),
    PacingRule("im.chat_members", "GET", "/open-apis/im/v1/chats/{chat_id}/members/**"),
    PacingRule(DEFAULT_FAMILY, "POST", "/open-apis/cardkit/v1/cards/id_convert"),
    PacingRule(
        "cardkit.card", _WRITES, "/open-apis/cardkit/v1/cards/{card_id}/**", key="{card_id}"
    ),
    PacingRule(
        "docx.edit",
        _WRITES,
        "/open-apis/docx/v1/documents/{document_id}/blocks/**",
        key="{document_id}",
    ),
    PacingRule("drive.media_upload", "POST", "/open-apis/drive/v1/medias/upload_all"),
    PacingRule("drive.media_upload", "POST", "/open-apis/drive/v1/medias/upload_prepare"),
    PacingRule("drive.media_upload", "POST", "/open-apis/drive/v1/medias/upload_part"),
    PacingRule("drive.media_upload", "POST", "/open-apis/drive/v1/medias/upload_finish"),
    PacingRule("drive.permission", "*", "/open-apis/drive/v1/permissions/{token}/members/**"),
    PacingRule("drive.permission", "*", "/open-apis/drive/v2/permissions/{token}/members/**"),
    # Reads that Bitable serves by POST are not writes.
    PacingRule(DEFAULT_FAMILY, "POST", _RECORDS + "/records/search"),
    PacingRule(DEFAULT_FAMILY, "POST", _RECORDS + "/records/batch_get"),
    PacingRule("bitable.write", _WRITES, _RECORDS + "/**", key="{app_token}/{table_id}"),
    PacingRule("sheets.write", _WRITES, "/open-apis/sheets/v2/spreadsheets/{token}/**"),
    PacingRule("contact.users", "*", "/open-apis/contact/v3/users/**"),
    PacingRule("contact.departments", "*", "/open-apis/contact/v3/departments/**"),
)
"""How requests map to families; the first matching rule wins, unmatched paths are
``default``. The key is the path's id where a rule names one, else the call's pacing key."""

_DEFAULT_ROUTE = PacingRoute(DEFAULT_FAMILY, None)


class PacingTable:
    """Families' limits plus the rules that classify requests into families (immutable)."""

    __slots__ = ("_by_service", "_limits", "_routes", "_rules")

    def __init__(
        self,
        limits: Mapping[str, Limits] = DEFAULT_LIMITS,
        rules: Iterable[PacingRule] = DEFAULT_RULES,
    ) -> None:
        self._limits: dict[str, Limits] = dict(limits)
        self._limits.setdefault(DEFAULT_FAMILY, NO_LIMITS)
        self._rules: tuple[PacingRule, ...] = tuple(rules)
        by_service: dict[str, list[PacingRule]] = {}
        for rule in self._rules:
            by_service.setdefault(rule.service, []).append(rule)
        self._by_service = {name: tuple(rules) for name, rules in by_service.items()}
        self._routes: dict[tuple[str, str], PacingRoute | None] = {}
        """(method, path) -> the matching rule's route (None: no rule): a call's route is
        looked up on every request, and most calls repeat a few paths."""

    @classmethod
    def default(cls) -> PacingTable:
        """Feishu's documented limits (:data:`DEFAULT_LIMITS`, :data:`DEFAULT_RULES`)."""
        return _DEFAULT_TABLE

    @classmethod
    def unlimited(cls) -> PacingTable:
        """The default rules with every limit switched off (no pacing at all)."""
        return cls({name: NO_LIMITS for name in DEFAULT_LIMITS}, DEFAULT_RULES)

    @property
    def families(self) -> Mapping[str, Limits]:
        """Every family's limits (a copy)."""
        return dict(self._limits)

    @property
    def rules(self) -> tuple[PacingRule, ...]:
        return self._rules

    def limits(self, family: str) -> Limits:
        """The family's limits (no limits for an unknown family)."""
        return self._limits.get(family, NO_LIMITS)

    def with_limits(
        self, overrides: Mapping[str, Limits | Mapping[str, Any] | None]
    ) -> PacingTable:
        """A table with some families' limits changed: a :class:`Limits` replaces them, a
        mapping changes the named fields (a value of None switches that limit off), None
        switches every limit of the family off. ValidationError for an unknown field."""
        if not isinstance(overrides, Mapping):
            raise ValidationError(
                "pacing overrides must map a family name to Limits, a mapping or None",
                field="pacing",
            )
        limits = dict(self._limits)
        for family, change in overrides.items():
            current = limits.get(family, NO_LIMITS)
            if change is None:
                limits[family] = dataclasses.replace(
                    NO_LIMITS, key=current.key, source=current.source
                )
            elif isinstance(change, Limits):
                limits[family] = change
            elif isinstance(change, Mapping):
                known = {f.name for f in dataclasses.fields(Limits)}
                unknown = sorted(set(change) - known)
                if unknown:
                    raise ValidationError(
                        f"unknown pacing limit {', '.join(unknown)} for {family!r}; "
                        f"use {', '.join(sorted(known))}",
                        field="pacing",
                    )
                limits[family] = dataclasses.replace(current, **change)
            else:
                raise ValidationError(
                    f"pacing override for {family!r} must be Limits, a mapping or None, "
                    f"not {type(change).__name__}",
                    field="pacing",
                )
        return PacingTable(limits, self._rules)

    def with_family(
        self,
        family: str,
        limits: Limits,
        *,
        routes: Iterable[tuple[str, str]] = (),
        key: str | None = None,
    ) -> PacingTable:
        """A table with one more family (or new limits for one), classified by ``routes``
        (``(methods, template)`` pairs, checked before the existing rules) whose per-key key
        is ``key`` (a format string over the template's ``{names}``; None: the call's
        pacing key). For a domain of your own::

            table = PacingTable.default().with_family(
                "calendar.write", Limits(per_second=9),
                routes=[("POST|PATCH|DELETE", "/open-apis/calendar/v4/calendars/{id}/**")],
            )
        """
        new_rules = tuple(PacingRule(family, m, t, key=key) for m, t in routes)
        limits_map = dict(self._limits)
        limits_map[family] = limits
        return PacingTable(limits_map, new_rules + self._rules)

    def route(self, method: str, path: str, pacing_key: str | None = None) -> PacingRoute:
        """The family and key of ``method path`` (``/open-apis/...``, no query string): the
        key from the path where a rule names one, else ``pacing_key`` when the family has a
        per-key limit."""
        cache_key = (method, path)
        try:
            found = self._routes[cache_key]
        except KeyError:
            found = self._match(method, path)
            if len(self._routes) >= _ROUTE_CACHE:
                self._routes.clear()  # paths with ids: keep the cache bounded
            self._routes[cache_key] = found
        if found is None:
            return _DEFAULT_ROUTE
        if found.key is None and pacing_key is not None:
            return PacingRoute(found.family, pacing_key)
        return found

    def _match(self, method: str, path: str) -> PacingRoute | None:
        rules = self._by_service.get(_service(path))
        if rules is None:
            return None
        method = method.upper()
        query = path.find("?")
        if query != -1:
            path = path[:query]
        for rule in rules:
            found = rule.match(method, path)
            if found is not None:
                return found
        return None

    def family_of(self, method: str, path: str) -> str:
        """The endpoint family of ``method path`` (``default`` when no rule matches)."""
        return self.route(method, path).family

    def __repr__(self) -> str:
        paced = sorted(name for name, limits in self._limits.items() if limits.paced)
        return f"PacingTable(paced={paced}, rules={len(self._rules)})"


_ROUTE_CACHE = 4096
_DEFAULT_TABLE = PacingTable()


def family_of(method: str, path: str) -> str:
    """The endpoint family of ``method path`` by the default rules."""
    return _DEFAULT_TABLE.family_of(method, path)


class _Slots:
    __slots__ = ("epoch", "taken")

    def __init__(self, epoch: float) -> None:
        self.epoch = epoch
        self.taken: set[int] = set()


_FREE: contextlib.nullcontext[None] = contextlib.nullcontext()


class Pacer:
    """Keeps each app under its pacing table's limits; one object for threads and asyncio.

    ``clock`` is any monotonic seconds function (default :func:`time.monotonic`); inject a
    fake one in tests. ``shared``: a :class:`RedisBudget` that shares the per-app and
    per-key windows with other processes (None: this process paces alone). Thread-safe.
    See the module docstring for the calling sequence.
    """

    def __init__(
        self,
        table: PacingTable | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        shared: RedisBudget | None = None,
    ) -> None:
        self.table = table if table is not None else PacingTable.default()
        self.clock = clock
        self.shared = shared
        self._lock = threading.Lock()
        self._grid: dict[tuple[str, str], _Slots] = {}
        self._next_for_key: dict[tuple[str, str, str], float] = {}
        self._second: dict[tuple[str, str], deque[float]] = {}
        self._minute: dict[tuple[str, str], deque[float]] = {}
        self._per_key: dict[tuple[str, str, str], deque[float]] = {}
        self._reservations = 0
        self._locks = KeyedLocks()
        self._async_locks = AsyncKeyedLocks(self._locks)
        self._shared_down_until = 0.0
        self._shared_warned = False

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        table: PacingTable | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> Pacer:
        """A pacer that shares its budget through Redis when ``LARK_REDIS_URL`` is set."""
        shared = RedisBudget(settings.redis_url) if settings.redis_url else None
        return cls(table, clock=clock, shared=shared)

    def route(self, method: str, path: str, pacing_key: str | None = None) -> PacingRoute:
        """The family and key of a request (see :meth:`PacingTable.route`)."""
        return self.table.route(method, path, pacing_key)

    def needs_io(self, family: str) -> bool:
        """Whether :meth:`admit` for ``family`` makes a network round trip (a shared budget
        is configured and the family has a rate): async callers run it in a thread."""
        return self.shared is not None and self.table.limits(family).paced

    def reserve(self, app_id: str, family: str, key: str | None = None) -> float:
        """Take the next free slot for a call of ``family`` (to ``key``) as ``app_id``;
        seconds to wait before :meth:`admit`."""
        limits = self.table.limits(family)
        if not limits.paced:
            return 0.0
        per_second, per_key = limits.per_second, limits.per_key if key is not None else None
        with self._lock:
            now = self.clock()
            earliest = now
            key_id = (app_id, family, key) if per_key is not None and key is not None else None
            if key_id is not None:
                earliest = max(earliest, self._next_for_key.get(key_id, now))
            slot = earliest
            if per_second is not None:
                interval = 1.0 / per_second
                grid = self._grid.get((app_id, family))
                if grid is None:
                    grid = self._grid[(app_id, family)] = _Slots(now)
                # The cell ``earliest`` falls in, when free, lets the call go at once: a call
                # under the rate never waits for the next grid point (that added up to one
                # interval, 22 ms for IM, to every sequential call). Two calls in adjacent
                # cells may be closer than one interval; admit()'s sliding windows still cap
                # every second at the limit.
                index = max(0, math.floor((earliest - grid.epoch) / interval + _EPS))
                while index in grid.taken:
                    index += 1
                grid.taken.add(index)
                cell = grid.epoch + index * interval
                slot = cell if cell > earliest + _EPS else earliest
            if key_id is not None and per_key is not None:
                self._next_for_key[key_id] = slot + 1.0 / per_key
            self._reservations += 1
            if self._reservations % _PRUNE_EVERY == 0:
                self._prune(now)
        delay = max(0.0, slot - now)
        if delay > 0:
            self._waited(app_id, family, limits, delay, "reserve")
        return delay

    def admit(self, app_id: str, family: str, key: str | None = None) -> float:
        """0.0, and the call is counted, when the windows have room for it; else the seconds
        until they will (wait, then call again)."""
        limits = self.table.limits(family)
        if not limits.paced:
            return 0.0
        if self.shared is not None and self._shared_usable():
            wait = self._admit_shared(app_id, family, key, limits)
            if wait is not None:
                if wait > 0:
                    self._waited(app_id, family, limits, wait, "admit")
                return wait
        wait = self._admit_local(app_id, family, key, limits, count=True)
        if wait > 0:
            self._waited(app_id, family, limits, wait, "admit")
        return wait

    def lease(
        self, app_id: str, family: str, key: str | None = None
    ) -> AbstractContextManager[Any]:
        """``with pacer.lease(app, family, key):`` — exclusive families hold a lock per
        (app, family, key) (per app when key is None); others get a no-op context."""
        if not self.table.limits(family).exclusive:
            return _FREE
        return self._locks.get((app_id, family, key))

    def async_lease(
        self, app_id: str, family: str, key: str | None = None
    ) -> AbstractAsyncContextManager[Any]:
        """``async with pacer.async_lease(...)``: :meth:`lease` for asyncio, excluding
        tasks of every loop and sync threads alike without blocking the loop."""
        if not self.table.limits(family).exclusive:
            return _FREE
        return self._async_locks.get((app_id, family, key))

    # internals

    def _admit_local(
        self, app_id: str, family: str, key: str | None, limits: Limits, *, count: bool
    ) -> float:
        with self._lock:
            now = self.clock()
            family_id = (app_id, family)
            key_id = (app_id, family, key) if key is not None else None
            wait = 0.0
            for log, rate, window in (
                (self._second.get(family_id), limits.per_second, 1.0),
                (
                    self._per_key.get(key_id) if key_id is not None else None,
                    limits.per_key,
                    1.0,
                ),
                (self._minute.get(family_id), limits.per_minute, MINUTE),
            ):
                if log is None or rate is None:
                    continue
                while log and log[0] <= now - window:
                    log.popleft()
                cap = math.ceil(rate - _EPS)
                if len(log) >= cap:
                    wait = max(wait, log[-cap] + window - now)
            if wait > 0 or not count:
                return wait
            self._record(family_id, key_id, limits, now)
            return 0.0

    def _record(
        self,
        family_id: tuple[str, str],
        key_id: tuple[str, str, str] | None,
        limits: Limits,
        now: float,
    ) -> None:
        if limits.per_second is not None:
            self._second.setdefault(family_id, deque()).append(now)
        if limits.per_key is not None and key_id is not None:
            self._per_key.setdefault(key_id, deque()).append(now)
        if limits.per_minute is not None:
            self._minute.setdefault(family_id, deque()).append(now)

    def _shared_usable(self) -> bool:
        return self._shared_down_until == 0.0 or self.clock() >= self._shared_down_until

    def _admit_shared(
        self, app_id: str, family: str, key: str | None, limits: Limits
    ) -> float | None:
        """Ask Redis; None when it cannot be reached (then the local windows decide)."""
        assert self.shared is not None
        try:
            wait = self.shared.admit(app_id, family, key, limits)
        except self.shared.errors as exc:
            with self._lock:
                self._shared_down_until = self.clock() + REDIS_RETRY_AFTER
                first = not self._shared_warned
                self._shared_warned = True
            if first:
                logger.warning(
                    "pacing: Redis at %s is unreachable (%s); each process now paces alone "
                    "(a fleet of N processes may send up to N x Feishu's per-app limit) "
                    "until it answers again",
                    self.shared.where,
                    type(exc).__name__,
                )
            return None
        if self._shared_warned:
            with self._lock:
                recovered, self._shared_warned = self._shared_warned, False
                self._shared_down_until = 0.0
            if recovered:
                logger.info("pacing: Redis at %s answers again; budget shared", self.shared.where)
        if wait <= 0:
            # Count it here too, so a later fallback starts from this process's history.
            with self._lock:
                self._record(
                    (app_id, family),
                    (app_id, family, key) if key is not None else None,
                    limits,
                    self.clock(),
                )
            return 0.0
        return wait

    def _waited(self, app_id: str, family: str, limits: Limits, delay: float, stage: str) -> None:
        if instrumentation.enabled():
            instrumentation.emit(
                "pacing.waited", app_id, family=family, key=limits.key, delay=delay, stage=stage
            )

    def _prune(self, now: float) -> None:
        for (_, family), grid in self._grid.items():
            per_second = self.table.limits(family).per_second
            if per_second is not None:
                floor = math.floor((now - grid.epoch) * per_second)
                grid.taken = {k for k in grid.taken if k >= floor}
        self._next_for_key = {k: t for k, t in self._next_for_key.items() if t > now}
        self._per_key = {k: log for k, log in self._per_key.items() if log and log[-1] > now - 1}

    def __repr__(self) -> str:
        shared = f", shared={self.shared!r}" if self.shared is not None else ""
        return f"Pacer({self.table!r}{shared})"


_ADMIT_SCRIPT = """
local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local wait = 0
for i = 1, #KEYS do
  local cap = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= cap then
    local entry = redis.call('ZRANGE', KEYS[i], count - cap, count - cap, 'WITHSCORES')
    local w = tonumber(entry[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then
  return tostring(wait)
end
for i = 1, #KEYS do
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZADD', KEYS[i], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], math.ceil(window * 1000) + 1000)
end
return '0'
"""
"""KEYS: the windows (sorted sets of admit times). ARGV: now ('' = the server's clock), a
unique member, then (cap, window seconds) per key. Returns the wait in seconds as a string
('0' = admitted and counted in every window)."""


class RedisBudget:
    """The per-app per-second and per-minute windows, and the per-key windows, kept in Redis
    so every process pacing with it shares them (redis-py; ``pip install
    'lark-service[redis]'``).

    ``clock``: seconds on a clock every process shares; None (default) uses the Redis
    server's ``TIME``, so hosts need not agree. Inject a fake clock in tests. ``prefix``
    namespaces the keys (``lark:pacing`` by default); per-key ids are hashed, never stored.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        clock: Callable[[], float] | None = None,
        prefix: str = "lark:pacing",
        timeout: float = 0.5,
    ) -> None:
        self.errors: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)
        """What counts as "Redis unreachable" (pace per process meanwhile)."""
        if client is None:
            if not url:
                raise ValidationError("RedisBudget needs a Redis URL or client", field="url")
            try:
                import redis
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ValidationError(
                    "LARK_REDIS_URL is set but the redis package is missing: "
                    "pip install 'lark-service[redis]'",
                    field="redis_url",
                ) from exc
            client = redis.Redis.from_url(
                url, socket_connect_timeout=timeout, socket_timeout=timeout
            )
            # any failure of Redis, not of our code: a pacing store must never fail a call
            self.errors = (redis.RedisError, OSError)
        self.client = client
        self.clock = clock
        self.prefix = prefix
        self.where = _where(url) if url else repr(client)
        self._script = client.register_script(_ADMIT_SCRIPT)

    def admit(self, app_id: str, family: str, key: str | None, limits: Limits) -> float:
        """0.0 and the call is counted in every shared window, or the seconds to wait.
        Raises the client's error when Redis cannot be reached."""
        base = f"{self.prefix}:{{{app_id}:{family}}}"
        keys: list[str] = []
        args: list[Any] = ["" if self.clock is None else repr(float(self.clock())),
                           secrets.token_hex(8)]  # fmt: skip
        if limits.per_second is not None:
            keys.append(base + ":s")
            args += [math.ceil(limits.per_second - _EPS), 1.0]
        if limits.per_minute is not None:
            keys.append(base + ":m")
            args += [math.ceil(limits.per_minute - _EPS), MINUTE]
        if limits.per_key is not None and key is not None:
            digest = hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
            keys.append(f"{base}:k:{digest}")
            args += [math.ceil(limits.per_key - _EPS), 1.0]
        if not keys:
            return 0.0
        answer = self._script(keys=keys, args=args)
        if isinstance(answer, bytes):
            answer = answer.decode()
        return max(0.0, float(answer))

    def close(self) -> None:
        """Close the client's connections."""
        with contextlib.suppress(Exception):
            self.client.close()

    def __repr__(self) -> str:
        return f"RedisBudget({self.where}, prefix={self.prefix!r})"


def _where(url: str) -> str:
    """``redis://user:secret@host:6379/0`` → ``host:6379/0`` (never the password)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"
    except ValueError:
        return "redis (unparsable URL)"
