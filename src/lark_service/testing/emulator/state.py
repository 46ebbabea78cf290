"""Everything the emulator knows, in memory, behind one lock.

The server thread (route handlers) and the test thread (the Python API) both call into one
:class:`EmulatorState`; every public method takes :attr:`EmulatorState.lock`, a re-entrant
lock, so a handler can also hold it across several calls to make them atomic.

Domains added later keep their own state through :meth:`EmulatorState.domain`, which is
dropped on :meth:`EmulatorState.reset` with everything else.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any, TypeVar

from .clock import Clock
from .faults import FaultSet

__all__ = [
    "DEFAULT_TENANT_KEY",
    "DEMO_APP_ID",
    "DEMO_APP_SECRET",
    "DEMO_CHAT_ID",
    "ROOT_DEPARTMENT_ID",
    "TOKEN_KINDS",
    "TOKEN_REUSE_SECONDS",
    "UUID_DEDUP_SECONDS",
    "App",
    "Chat",
    "Department",
    "EmulatorState",
    "Message",
    "RequestRecord",
    "Token",
    "User",
    "default_open_id",
    "default_union_id",
    "new_log_id",
]

T = TypeVar("T")

DEFAULT_TENANT_KEY = "736588c9260f175d"
TOKEN_KINDS = ("tenant", "app", "user")
TOKEN_PREFIXES = {"tenant": "t-", "app": "a-", "user": "u-"}
TOKEN_REUSE_SECONDS = 30 * 60
"""A token fetch returns the current token while it has more than this many seconds left."""
UUID_DEDUP_SECONDS = 60 * 60
"""Message ``uuid`` dedup window."""
REQUEST_LOG_SIZE = 10_000

DEMO_APP_ID = "cli_demo"
DEMO_APP_SECRET = "demo-secret"
DEMO_CHAT_ID = "oc_demo"
ROOT_DEPARTMENT_ID = "0"

_TOKEN_ALPHABET = string.ascii_letters + string.digits


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def default_union_id(user_id: str) -> str:
    """The union_id a seeded user gets when none is given."""
    return "on_" + _sha("union:" + user_id)[:32]


def default_open_id(app_id: str, union_id: str) -> str:
    """The open_id of a user (by union_id) for an app, when none is seeded."""
    return "ou_" + _sha(app_id + union_id)[:32]


def new_log_id(now: float) -> str:
    """A Feishu-looking log id: ``YYYYMMDDHHMMSS`` + 18 upper-case hex digits."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + secrets.token_hex(9).upper()


@dataclass
class App:
    """A Feishu app the emulator knows (credentials and callback settings)."""

    app_id: str
    app_secret: str
    token_ttl: int = 7200
    callback_url: str | None = None
    encrypt_key: str | None = None
    verification_token: str | None = None
    tenant_key: str = DEFAULT_TENANT_KEY
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


@dataclass
class User:
    """A person in the emulated tenant. ``open_id`` differs per app, as in Feishu."""

    user_id: str
    union_id: str
    name: str
    email: str | None = None
    mobile: str | None = None
    open_id: str | None = None
    open_ids: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)

    def open_id_for(self, app_id: str) -> str:
        """``open_ids[app_id]``, else ``open_id``, else a stable hash of app and union_id."""
        if app_id in self.open_ids:
            return self.open_ids[app_id]
        if self.open_id is not None:
            return self.open_id
        return default_open_id(app_id, self.union_id)

    def to_dict(self, app_id: str | None = None) -> dict[str, Any]:
        """JSON-friendly form; with ``app_id``, ``open_id`` is the one that app sees."""
        d = asdict(self)
        if app_id is not None:
            d["open_id"] = self.open_id_for(app_id)
        return d


@dataclass
class Chat:
    """A group (or a p2p chat the emulator made for a bot and a user)."""

    chat_id: str
    name: str
    members: list[str] = field(default_factory=list)
    bot_app_ids: list[str] | None = None
    """Apps whose bot is in the chat; ``None`` means every app's bot."""
    description: str = ""
    owner_id: str | None = None
    chat_type: str = "group"
    attrs: dict[str, Any] = field(default_factory=dict)
    dissolved: bool = False
    """A dissolved group answers 232009 and is not listed."""

    def has_bot(self, app_id: str) -> bool:
        """Whether the app's bot is a member."""
        return self.bot_app_ids is None or app_id in self.bot_app_ids

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


@dataclass
class Department:
    """A department of the emulated tenant; the root (``"0"``) is implicit, never stored.

    Users belong to departments through ``add_user(..., department_ids=[...])`` (custom
    department ids, kept in ``User.attrs``); a user without any is in the root.
    """

    department_id: str
    name: str
    parent_department_id: str = ROOT_DEPARTMENT_ID
    open_department_id: str = ""
    leader_user_id: str | None = None
    chat_id: str | None = None
    order: int = 0
    deleted: bool = False
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


@dataclass
class Token:
    """An access token the emulator issued."""

    value: str
    app_id: str
    kind: str
    issued_at: float
    expires_at: float
    revoked: bool = False
    subject: str | None = None
    """For user tokens: the user_id."""

    def remaining(self, now: float) -> float:
        """Seconds of life left (negative once expired)."""
        return self.expires_at - now

    def is_valid(self, now: float) -> bool:
        """Not revoked and not expired."""
        return not self.revoked and now < self.expires_at


@dataclass
class Message:
    """A message an app sent, as stored (``content`` parsed, ``content_raw`` as sent)."""

    message_id: str
    app_id: str
    msg_type: str
    content: dict[str, Any]
    content_raw: str
    chat_id: str
    create_time: int
    """Epoch milliseconds (emulator clock)."""
    update_time: int
    receive_id: str | None = None
    receive_id_type: str | None = None
    uuid: str | None = None
    request_id: str | None = None
    root_id: str | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    deleted: bool = False
    updated: bool = False
    tenant_key: str = DEFAULT_TENANT_KEY
    attrs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, as ``GET /_emulator/messages`` lists it."""
        return asdict(self)


@dataclass(frozen=True)
class RequestRecord:
    """One ``/open-apis/`` call, as the request log keeps it."""

    method: str
    path: str
    query: dict[str, str]
    app_id: str | None
    status: int | None
    """HTTP status answered; ``None`` when the connection was dropped."""
    code: int | None
    """The ``code`` of a JSON answer, if any."""
    request_id: str | None
    """The caller's ``X-Request-Id`` header."""
    log_id: str
    time: float
    duration_ms: float
    fault: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return asdict(self)


class EmulatorState:
    """Apps, users, chats, tokens, messages, faults, the request log and the clock."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.lock = threading.RLock()
        self.clock = clock or Clock()
        self.faults = FaultSet()
        self._init()

    def _init(self) -> None:
        self._apps: dict[str, App] = {}
        self._users: dict[str, User] = {}
        self._chats: dict[str, Chat] = {}
        self._tokens: dict[str, Token] = {}
        self._current_tokens: dict[tuple[str, str], str] = {}
        self._token_fetches: Counter[tuple[str, str]] = Counter()
        self._messages: list[Message] = []
        self._messages_by_id: dict[str, Message] = {}
        self._uuid_index: dict[tuple[str, str], Message] = {}
        self._requests: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_SIZE)
        self._calls: Counter[str] = Counter()
        self._domains: dict[str, Any] = {}
        self._departments: dict[str, Department] = {}
        self._contact_ranges: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._denied_scopes: dict[str, set[str]] = {}

    # -- lifecycle -------------------------------------------------------------------------

    def reset(self, *, seed_demo: bool = False) -> None:
        """Forget everything: data, tokens, messages, faults, request log, clock offset."""
        with self.lock:
            self._init()
            self.faults.clear()
            self.clock.reset()
            if seed_demo:
                self.seed_demo()

    def domain(self, name: str, factory: Callable[[], T]) -> T:
        """Per-domain state (documents, sheets, …), made by ``factory`` on first use.

        Dropped by :meth:`reset`. Domain modules should keep everything they store here.
        """
        with self.lock:
            if name not in self._domains:
                self._domains[name] = factory()
            value: T = self._domains[name]
            return value

    def seed_demo(self) -> None:
        """Add the demo app ``cli_demo`` / ``demo-secret``, alice, bob, carol and ``oc_demo``."""
        with self.lock:
            self.add_app(DEMO_APP_ID, DEMO_APP_SECRET, name="Demo App")
            self.add_user("alice", name="Alice", email="alice@example.com", mobile="+8613800000001")
            self.add_user("bob", name="Bob", email="bob@example.com", mobile="+8613800000002")
            self.add_user("carol", name="Carol")
            self.add_chat(
                DEMO_CHAT_ID,
                "Ops Alerts",
                members=["alice", "bob"],
                description="Where the demo sends its alerts",
                owner_id="alice",
            )

    # -- apps ------------------------------------------------------------------------------

    def add_app(
        self,
        app_id: str,
        app_secret: str,
        *,
        token_ttl: int = 7200,
        callback_url: str | None = None,
        encrypt_key: str | None = None,
        verification_token: str | None = None,
        tenant_key: str = DEFAULT_TENANT_KEY,
        name: str | None = None,
    ) -> App:
        """Add (or replace the settings of) an app. Tokens already issued stay valid."""
        if not app_id or not app_secret:
            raise ValueError("an app needs a non-empty app_id and app_secret")
        if token_ttl <= 0:
            raise ValueError(f"token_ttl must be positive, got {token_ttl}")
        app = App(
            app_id=app_id,
            app_secret=app_secret,
            token_ttl=int(token_ttl),
            callback_url=callback_url,
            encrypt_key=encrypt_key,
            verification_token=verification_token,
            tenant_key=tenant_key,
            name=name,
        )
        with self.lock:
            self._apps[app_id] = app
        return replace(app)

    def get_app(self, app_id: str) -> App | None:
        """The app, or ``None``."""
        with self.lock:
            app = self._apps.get(app_id)
            return replace(app) if app else None

    def apps(self) -> list[App]:
        """Every app, in the order added."""
        with self.lock:
            return [replace(a) for a in self._apps.values()]

    # -- users and chats -------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        union_id: str | None = None,
        name: str | None = None,
        email: str | None = None,
        mobile: str | None = None,
        open_id: str | None = None,
        open_ids: Mapping[str, str] | None = None,
        **attrs: Any,
    ) -> User:
        """Add (or replace) a user. Extra keyword arguments are kept in ``attrs``."""
        if not user_id:
            raise ValueError("a user needs a non-empty user_id")
        user = User(
            user_id=user_id,
            union_id=union_id or default_union_id(user_id),
            name=name if name is not None else user_id,
            email=email,
            mobile=mobile,
            open_id=open_id,
            open_ids=dict(open_ids or {}),
            attrs=dict(attrs),
        )
        with self.lock:
            self._users[user_id] = user
        return replace(user)

    def get_user(self, user_id: str) -> User | None:
        """The user with this user_id, or ``None``."""
        with self.lock:
            user = self._users.get(user_id)
            return replace(user) if user else None

    def users(self) -> list[User]:
        """Every user, in the order added."""
        with self.lock:
            return [replace(u) for u in self._users.values()]

    def open_id(self, user_id: str, app_id: str) -> str:
        """The open_id ``app_id`` sees for ``user_id`` (KeyError if no such user)."""
        with self.lock:
            return self._users[user_id].open_id_for(app_id)

    def find_user(self, id_type: str, value: str, app_id: str) -> User | None:
        """The user that ``app_id`` knows by ``value`` of ``id_type``.

        ``id_type``: ``open_id`` (as this app sees it), ``union_id``, ``user_id``, ``email``
        or ``mobile``.
        """
        with self.lock:
            for user in self._users.values():
                if id_type == "open_id":
                    hit = user.open_id_for(app_id) == value
                elif id_type in ("user_id", "union_id", "email", "mobile"):
                    hit = getattr(user, id_type) == value
                else:
                    raise ValueError(f"unknown user id type {id_type!r}")
                if hit:
                    return replace(user)
            return None

    def is_foreign_open_id(self, value: str, app_id: str) -> bool:
        """Whether ``value`` is some user's open_id for another app (Feishu: cross app)."""
        with self.lock:
            for user in self._users.values():
                others = set(user.open_ids.values())
                others.update(user.open_id_for(a) for a in self._apps if a != app_id)
                if value in others and user.open_id_for(app_id) != value:
                    return True
            return False

    def add_chat(
        self,
        chat_id: str,
        name: str,
        *,
        members: Iterable[str] = (),
        bot_app_ids: Iterable[str] | None = None,
        description: str = "",
        owner_id: str | None = None,
        chat_type: str = "group",
        **attrs: Any,
    ) -> Chat:
        """Add (or replace) a chat. ``bot_app_ids=None``: every app's bot is a member."""
        if not chat_id:
            raise ValueError("a chat needs a non-empty chat_id")
        chat = Chat(
            chat_id=chat_id,
            name=name,
            members=list(members),
            bot_app_ids=None if bot_app_ids is None else list(bot_app_ids),
            description=description,
            owner_id=owner_id,
            chat_type=chat_type,
            attrs=dict(attrs),
        )
        with self.lock:
            self._chats[chat_id] = chat
        return replace(chat)

    def get_chat(self, chat_id: str) -> Chat | None:
        """The chat, or ``None``."""
        with self.lock:
            chat = self._chats.get(chat_id)
            return replace(chat) if chat else None

    def chats(self) -> list[Chat]:
        """Every chat (groups and the p2p chats made so far), in the order added."""
        with self.lock:
            return [replace(c) for c in self._chats.values()]

    def p2p_chat(self, app_id: str, user_id: str) -> Chat:
        """The p2p chat between ``app_id``'s bot and a user (made on first use, stable id)."""
        chat_id = "oc_" + _sha(f"p2p:{app_id}:{user_id}")[:32]
        with self.lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                chat = Chat(
                    chat_id=chat_id,
                    name="",
                    members=[user_id],
                    bot_app_ids=[app_id],
                    chat_type="p2p",
                )
                self._chats[chat_id] = chat
            return replace(chat)

    # -- directory: departments, contact ranges, scopes, dissolved chats -------------------

    def add_department(
        self,
        department_id: str,
        name: str,
        *,
        parent_department_id: str = ROOT_DEPARTMENT_ID,
        open_department_id: str | None = None,
        leader_user_id: str | None = None,
        chat_id: str | None = None,
        order: int = 0,
        deleted: bool = False,
        **attrs: Any,
    ) -> Department:
        """Add (or replace) a department; ``open_department_id`` defaults to a stable hash."""
        if not department_id or department_id == ROOT_DEPARTMENT_ID:
            raise ValueError("a department needs a non-empty department_id other than '0'")
        department = Department(
            department_id=department_id,
            name=name,
            parent_department_id=parent_department_id or ROOT_DEPARTMENT_ID,
            open_department_id=open_department_id or "od-" + _sha("dept:" + department_id)[:32],
            leader_user_id=leader_user_id,
            chat_id=chat_id,
            order=int(order),
            deleted=bool(deleted),
            attrs=dict(attrs),
        )
        with self.lock:
            self._departments[department_id] = department
        return replace(department)

    def get_department(self, department_id: str) -> Department | None:
        """The department with this department_id or open_department_id (deleted ones too)."""
        with self.lock:
            department = self._departments.get(department_id)
            if department is None:
                department = next(
                    (
                        d
                        for d in self._departments.values()
                        if d.open_department_id == department_id
                    ),
                    None,
                )
            return replace(department) if department else None

    def departments(self) -> list[Department]:
        """Every department (deleted ones too), in the order added."""
        with self.lock:
            return [replace(d) for d in self._departments.values()]

    def delete_department(self, department_id: str) -> Department:
        """Mark a department deleted (KeyError if unknown); its lookups then fail."""
        with self.lock:
            department = self._departments[department_id]
            department.deleted = True
            return replace(department)

    def department_ancestors(self, department_id: str) -> list[str]:
        """The custom ids from ``department_id`` up to (not including) the root."""
        chain: list[str] = []
        with self.lock:
            current = self._departments.get(department_id)
            while current is not None and current.department_id not in chain:
                chain.append(current.department_id)
                current = self._departments.get(current.parent_department_id)
        return chain

    def user_department_ids(self, user: User) -> list[str]:
        """The custom ids of the departments ``user`` belongs to (``[]``: the root)."""
        return [str(d) for d in user.attrs.get("department_ids") or []]

    def set_contact_range(
        self,
        app_id: str,
        *,
        departments: Iterable[str] | None = None,
        users: Iterable[str] | None = None,
    ) -> None:
        """Limit the directory ``app_id`` may read to ``departments`` (with their subtrees)
        and ``users`` (user_ids); both ``None`` restores the default, the whole tenant.
        Outside the range the contact API answers 41050 (users) and 40004 (departments)."""
        with self.lock:
            if departments is None and users is None:
                self._contact_ranges.pop(app_id, None)
            else:
                self._contact_ranges[app_id] = (
                    frozenset(departments or ()),
                    frozenset(users or ()),
                )

    def user_in_contact_range(self, app_id: str, user: User) -> bool:
        """Whether ``app_id``'s contacts data range includes ``user``."""
        with self.lock:
            limits = self._contact_ranges.get(app_id)
            if limits is None:
                return True
            departments, users = limits
            if user.user_id in users or ROOT_DEPARTMENT_ID in departments:
                return True
            return any(
                self.department_in_contact_range(app_id, d) for d in self.user_department_ids(user)
            )

    def department_in_contact_range(self, app_id: str, department_id: str) -> bool:
        """Whether ``app_id``'s contacts data range includes the department (custom id)."""
        with self.lock:
            limits = self._contact_ranges.get(app_id)
            if limits is None:
                return True
            departments = limits[0]
            if ROOT_DEPARTMENT_ID in departments:
                return True
            return any(d in departments for d in self.department_ancestors(department_id))

    def deny_scopes(self, app_id: str, *scopes: str) -> None:
        """Withdraw API scopes from ``app_id`` (calls needing them answer 99991672)."""
        with self.lock:
            self._denied_scopes.setdefault(app_id, set()).update(scopes)

    def grant_scopes(self, app_id: str, *scopes: str) -> None:
        """Give back scopes taken by :meth:`deny_scopes` (none given: all of them)."""
        with self.lock:
            denied = self._denied_scopes.get(app_id, set())
            if scopes:
                denied.difference_update(scopes)
            else:
                denied.clear()

    def denied_scopes(self, app_id: str) -> set[str]:
        """The scopes withdrawn from ``app_id`` (every other scope is granted)."""
        with self.lock:
            return set(self._denied_scopes.get(app_id, ()))

    def dissolve_chat(self, chat_id: str) -> Chat:
        """Dissolve a group (KeyError if unknown): it answers 232009 and is no longer listed."""
        with self.lock:
            chat = self._chats[chat_id]
            chat.dissolved = True
            return replace(chat)

    # -- tokens ----------------------------------------------------------------------------

    def fetch_token(self, app_id: str, kind: str) -> Token:
        """What a token endpoint hands out: the current token while it has more than 30 min
        left, else a new one (the old one stays valid until its own expiry)."""
        with self.lock:
            app = self._apps[app_id]
            now = self.clock.now()
            current = self._tokens.get(self._current_tokens.get((app_id, kind), ""))
            if (
                current is not None
                and current.is_valid(now)
                and current.remaining(now) > TOKEN_REUSE_SECONDS
            ):
                return replace(current)
            return self.issue_token(app_id, kind, ttl=app.token_ttl)

    def issue_token(
        self, app_id: str, kind: str, *, ttl: float, subject: str | None = None
    ) -> Token:
        """Mint a new token. App and tenant tokens (no ``subject``) become the current one."""
        if kind not in TOKEN_PREFIXES:
            raise ValueError(f"unknown token kind {kind!r}; expected one of {TOKEN_KINDS}")
        value = (
            TOKEN_PREFIXES[kind] + "g" + "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(44))
        )
        with self.lock:
            now = self.clock.now()
            self._prune_tokens(now)
            token = Token(
                value=value,
                app_id=app_id,
                kind=kind,
                issued_at=now,
                expires_at=now + ttl,
                subject=subject,
            )
            self._tokens[value] = token
            if subject is None:
                self._current_tokens[(app_id, kind)] = value
            return replace(token)

    def _prune_tokens(self, now: float) -> None:
        dead = [v for v, t in self._tokens.items() if t.expires_at < now - 86_400]
        for value in dead:
            del self._tokens[value]

    def count_token_fetch(self, app_id: str, kind: str) -> None:
        """Record one request to a token endpoint naming ``app_id``."""
        with self.lock:
            self._token_fetches[(app_id, kind)] += 1

    def token_fetches(self, app_id: str | None = None, kind: str | None = None) -> int:
        """How many token requests named ``app_id`` (all apps if ``None``) for ``kind``."""
        with self.lock:
            return sum(
                n
                for (a, k), n in self._token_fetches.items()
                if (app_id is None or a == app_id) and (kind is None or k == kind)
            )

    def lookup_token(self, value: str) -> Token | None:
        """The token with this value, valid or not (``None`` if never issued)."""
        with self.lock:
            token = self._tokens.get(value)
            return replace(token) if token else None

    def resolve_token(self, value: str) -> Token | None:
        """The token if it is known, unexpired and not revoked; else ``None``."""
        with self.lock:
            token = self._tokens.get(value)
            if token is None or not token.is_valid(self.clock.now()):
                return None
            return replace(token)

    def tokens(self, app_id: str | None = None, kind: str | None = None) -> list[Token]:
        """Every token issued (valid or not), filtered by app and kind."""
        with self.lock:
            return [
                replace(t)
                for t in self._tokens.values()
                if (app_id is None or t.app_id == app_id) and (kind is None or t.kind == kind)
            ]

    def revoke_tokens(
        self, app_id: str | None = None, token: str | None = None, kind: str | None = None
    ) -> int:
        """Revoke matching live tokens (all of them when no filter is given); return how many.

        A revoked token answers 99991663/99991664 and the next fetch issues a new one.
        """
        with self.lock:
            count = 0
            for t in self._tokens.values():
                if t.revoked:
                    continue
                if token is not None and t.value != token:
                    continue
                if app_id is not None and t.app_id != app_id:
                    continue
                if kind is not None and t.kind != kind:
                    continue
                t.revoked = True
                count += 1
            return count

    # -- messages --------------------------------------------------------------------------

    def new_message_id(self) -> str:
        """A fresh ``om_`` id."""
        return "om_" + secrets.token_hex(16)

    def add_message(self, message: Message) -> Message:
        """Store a message (and index its ``uuid`` for dedup)."""
        with self.lock:
            self._messages.append(message)
            self._messages_by_id[message.message_id] = message
            if message.uuid:
                self._uuid_index[(message.app_id, message.uuid)] = message
            return replace(message)

    def get_message(self, message_id: str) -> Message | None:
        """The message, or ``None``."""
        with self.lock:
            message = self._messages_by_id.get(message_id)
            return replace(message) if message else None

    def update_message(self, message_id: str, **changes: Any) -> Message:
        """Change fields of a stored message (KeyError if unknown); return the new copy."""
        with self.lock:
            message = self._messages_by_id[message_id]
            for key, value in changes.items():
                if not hasattr(message, key):
                    raise AttributeError(f"Message has no field {key!r}")
                setattr(message, key, value)
            return replace(message)

    def find_duplicate(self, app_id: str, uuid: str) -> Message | None:
        """The message ``app_id`` sent with ``uuid`` less than one hour ago, if any."""
        with self.lock:
            message = self._uuid_index.get((app_id, uuid))
            if message is None:
                return None
            if self.clock.now_ms() - message.create_time >= UUID_DEDUP_SECONDS * 1000:
                del self._uuid_index[(app_id, uuid)]
                return None
            return replace(message)

    def messages(
        self,
        *,
        app_id: str | None = None,
        receive_id: str | None = None,
        chat_id: str | None = None,
        msg_type: str | None = None,
    ) -> list[Message]:
        """Stored messages, oldest first, filtered by any of the given fields."""
        with self.lock:
            return [
                replace(m)
                for m in self._messages
                if (app_id is None or m.app_id == app_id)
                and (receive_id is None or m.receive_id == receive_id)
                and (chat_id is None or m.chat_id == chat_id)
                and (msg_type is None or m.msg_type == msg_type)
            ]

    # -- request log and stats -------------------------------------------------------------

    def log_request(self, record: RequestRecord) -> None:
        """Append to the request log (the newest 10,000 are kept) and count the call."""
        with self.lock:
            self._requests.append(record)
            self._calls[record.path] += 1

    def requests(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        app_id: str | None = None,
        status: int | None = None,
        code: int | None = None,
    ) -> list[RequestRecord]:
        """Logged ``/open-apis/`` calls, oldest first; ``path`` may be a glob."""
        with self.lock:
            return [
                r
                for r in self._requests
                if (method is None or r.method == method.upper())
                and (path is None or r.path == path or fnmatchcase(r.path, path))
                and (app_id is None or r.app_id == app_id)
                and (status is None or r.status == status)
                and (code is None or r.code == code)
            ]

    def stats(self) -> dict[str, Any]:
        """Token fetch counts per app and kind, calls per path, totals."""
        with self.lock:
            fetches: dict[str, dict[str, int]] = {}
            for (app_id, kind), n in sorted(self._token_fetches.items()):
                fetches.setdefault(app_id, {})[kind] = n
            return {
                "token_fetches": fetches,
                "calls": dict(sorted(self._calls.items())),
                "requests": sum(self._calls.values()),
                "messages": len(self._messages),
                "clock_offset": self.clock.offset,
            }
