"""Run the emulator: :class:`Emulator` (a uvicorn server in a daemon thread) and :func:`run`.

Importing this module does not import starlette or uvicorn; :meth:`Emulator.start` and
:func:`run` do.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .faults import Fault
from .state import App, Chat, Department, EmulatorState, Message, RequestRecord, Token, User

if TYPE_CHECKING:
    import uvicorn

    from .app import EmulatorApp

__all__ = ["DEFAULT_PORT", "Emulator", "run", "server_config"]

DEFAULT_PORT = 8900
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


def _server_class() -> Callable[
    [uvicorn.Config, EmulatorApp, Callable[[], object] | None], uvicorn.Server
]:
    import uvicorn

    class _EmulatorServer(uvicorn.Server):
        """A uvicorn server that says when it listens and releases hung calls on shutdown."""

        def __init__(
            self,
            config: uvicorn.Config,
            app: EmulatorApp,
            on_started: Callable[[], object] | None,
        ) -> None:
            super().__init__(config)
            self.emulator_app = app
            self.on_started = on_started

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.on_started is not None and self.started:
                self.on_started()

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            self.emulator_app.close()
            await super().shutdown(sockets=sockets)

    return _EmulatorServer


def _listen(host: str, port: int) -> socket.socket:
    """A bound TCP socket for the emulator (``port=0``: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then, and
    # without it h11's separate header/body writes meet delayed ACKs (~40 ms a call).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def server_config(
    app: EmulatorApp, *, log_level: str = "warning", console: bool = False
) -> uvicorn.Config:
    """The uvicorn settings every emulator server uses — the fixture's and the CLI's alike,
    so both serve the same bytes. ``console``: uvicorn's own log lines and access log (the
    CLI's foreground server)."""
    import uvicorn

    logging: dict[str, Any] = {} if console else {"log_config": None, "access_log": False}
    return uvicorn.Config(
        app,
        log_level=log_level,
        **logging,
        lifespan="off",
        ws="none",
        loop="asyncio",
        # h11 writes header names as given (httptools lowercases them): Feishu sends
        # "X-Tt-Logid" and "Content-Disposition", and the official SDK looks them up
        # case-sensitively.
        http="h11",
        timeout_graceful_shutdown=1,
    )


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class Emulator:
    """A local Feishu OpenAPI with state you can seed, inspect and break.

    >>> with Emulator() as emu:                     # doctest: +SKIP
    ...     emu.add_app("cli_test", "secret")
    ...     httpx.post(emu.url + "/open-apis/auth/v3/tenant_access_token/internal", ...)

    ``port=0`` picks a free port; :attr:`url` tells which. The data methods act on
    :attr:`state` directly and work whether or not the server is running.
    """

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        *,
        state: EmulatorState | None = None,
        log_level: str = "warning",
    ) -> None:
        self.host = host
        self.port = port
        self.state = state or EmulatorState()
        self.log_level = log_level
        self._server: uvicorn.Server | None = None
        self._app: EmulatorApp | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (use it as the client's ``base_url``)."""
        if not self.running:
            raise RuntimeError("the emulator is not running; call start() first")
        return _url(self.host, self.port)

    @property
    def running(self) -> bool:
        """Whether the server thread is up."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Emulator:
        """Start serving in a daemon thread; return once it accepts connections."""
        if self.running:
            return self
        from .app import create_app

        sock = _listen(self.host, self.port)
        self.port = int(sock.getsockname()[1])
        app = create_app(self.state)
        config = server_config(app, log_level=self.log_level)
        ready = threading.Event()
        server = _server_class()(config, app, ready.set)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"lark-emulator-{self.port}",
            daemon=True,
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not ready.wait(0.05):
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the emulator failed to start on {self.host}:{self.port}")
        self._server, self._thread, self._app = server, thread, app
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread (open connections get 1 s to finish)."""
        server, thread, app = self._server, self._thread, self._app
        self._server = self._thread = self._app = None
        if server is None or thread is None:
            return
        if app is not None:
            app.close()
        server.should_exit = True
        thread.join(_STOP_TIMEOUT)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self.running else "stopped"
        return f"<Emulator {where}>"

    # -- seeding ---------------------------------------------------------------------------

    def reset(self, *, seed_demo: bool = False) -> None:
        """Forget all data, tokens, messages, faults and the request log; clock back to real."""
        self.state.reset(seed_demo=seed_demo)

    def seed_demo(self) -> None:
        """Add app ``cli_demo`` / ``demo-secret``, users alice, bob, carol, chat ``oc_demo``."""
        self.state.seed_demo()

    def add_app(self, app_id: str, app_secret: str, **settings: Any) -> App:
        """Add an app. Settings: ``token_ttl`` (7200), ``callback_url``, ``encrypt_key``,
        ``verification_token``, ``tenant_key``, ``name``."""
        return self.state.add_app(app_id, app_secret, **settings)

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
        """Add a user; ``open_id`` per app defaults to a stable hash (see :meth:`open_id`)."""
        return self.state.add_user(
            user_id,
            union_id=union_id,
            name=name,
            email=email,
            mobile=mobile,
            open_id=open_id,
            open_ids=open_ids,
            **attrs,
        )

    def add_chat(
        self,
        chat_id: str,
        name: str,
        *,
        members: Iterable[str] = (),
        bot_app_ids: Iterable[str] | None = None,
        description: str = "",
        owner_id: str | None = None,
        **attrs: Any,
    ) -> Chat:
        """Add a group chat; ``bot_app_ids=None`` puts every app's bot in it."""
        return self.state.add_chat(
            chat_id,
            name,
            members=members,
            bot_app_ids=bot_app_ids,
            description=description,
            owner_id=owner_id,
            **attrs,
        )

    def open_id(self, user_id: str, app_id: str) -> str:
        """The open_id ``app_id`` sees for ``user_id``."""
        return self.state.open_id(user_id, app_id)

    # -- directory (contact and chats) -----------------------------------------------------

    def add_department(
        self,
        department_id: str,
        name: str,
        *,
        parent_department_id: str = "0",
        open_department_id: str | None = None,
        leader_user_id: str | None = None,
        deleted: bool = False,
        **attrs: Any,
    ) -> Department:
        """Add a department under ``parent_department_id`` (``"0"``: the root). Put users in
        it with ``add_user(..., department_ids=[department_id])``."""
        return self.state.add_department(
            department_id,
            name,
            parent_department_id=parent_department_id,
            open_department_id=open_department_id,
            leader_user_id=leader_user_id,
            deleted=deleted,
            **attrs,
        )

    def delete_department(self, department_id: str) -> Department:
        """Mark a department deleted: its lookups answer 40015 or ``is_deleted``."""
        return self.state.delete_department(department_id)

    def set_contact_range(
        self,
        app_id: str,
        *,
        departments: Iterable[str] | None = None,
        users: Iterable[str] | None = None,
    ) -> None:
        """Limit what ``app_id`` may read of the directory (41050 / 40004 outside it);
        both ``None``: the whole tenant again."""
        self.state.set_contact_range(app_id, departments=departments, users=users)

    def deny_scopes(self, app_id: str, *scopes: str) -> None:
        """Withdraw scopes from ``app_id``: calls needing them answer 99991672."""
        self.state.deny_scopes(app_id, *scopes)

    def grant_scopes(self, app_id: str, *scopes: str) -> None:
        """Give back withdrawn scopes (none given: all)."""
        self.state.grant_scopes(app_id, *scopes)

    def set_department_recursion_limit(self, limit: int | None) -> None:
        """Departments with more than ``limit`` sub-departments answer 43010 to
        ``children?fetch_child=true`` (Feishu refuses to walk big departments recursively);
        ``None`` (the default) lifts it."""
        from .routes_contact import set_recursion_limit

        set_recursion_limit(self.state, limit)

    def dissolve_chat(self, chat_id: str) -> Chat:
        """Dissolve a group: it answers 232009 and is no longer listed."""
        return self.state.dissolve_chat(chat_id)

    def seed_directory(self, **options: Any) -> dict[str, Any]:
        """Add a synthetic organisation (``users=50, departments=5, chats=3, domain=,
        seed=``); see :func:`routes_contact.seed_directory`."""
        from .routes_contact import seed_directory

        return seed_directory(self.state, **options)

    # -- inspection ------------------------------------------------------------------------

    def messages(
        self,
        *,
        app_id: str | None = None,
        receive_id: str | None = None,
        chat_id: str | None = None,
        msg_type: str | None = None,
    ) -> list[Message]:
        """Messages sent so far, oldest first."""
        return self.state.messages(
            app_id=app_id, receive_id=receive_id, chat_id=chat_id, msg_type=msg_type
        )

    def requests(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        app_id: str | None = None,
        status: int | None = None,
        code: int | None = None,
    ) -> list[RequestRecord]:
        """``/open-apis/`` calls received so far, oldest first (``path`` may be a glob)."""
        return self.state.requests(
            method=method, path=path, app_id=app_id, status=status, code=code
        )

    def token_fetches(self, app_id: str | None = None, kind: str | None = None) -> int:
        """Token requests that named ``app_id`` for ``kind`` (``"tenant"``/``"app"``)."""
        return self.state.token_fetches(app_id, kind)

    def tokens(self, app_id: str | None = None, kind: str | None = None) -> list[Token]:
        """Tokens issued so far (valid or not)."""
        return self.state.tokens(app_id, kind)

    def stats(self) -> dict[str, Any]:
        """Token fetches per app and kind, calls per path, totals."""
        return self.state.stats()

    # -- users acting on cards -------------------------------------------------------------

    def click_card(
        self,
        message_id: str,
        value: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        tag: str | None = None,
        user_id: str | None = None,
        open_id: str | None = None,
        form_value: Mapping[str, Any] | None = None,
        input_value: str | None = None,
        option: str | None = None,
        legacy: bool = False,
        transport: str = "webhook",
    ) -> dict[str, Any]:
        """A user clicks a component of the card message ``message_id``, as
        ``POST /_emulator/cards/{message_id}/click`` does: the app's ``callback_url`` gets
        ``card.action.trigger`` (``legacy=True``: the legacy card callback), signed and
        encrypted as Feishu sends it, and a card in the answer replaces the message's.

        Name the component by ``value`` (all of its keys, or some of them) and/or ``name``
        (and ``tag``): the callback carries the component's whole value, as on the card.
        Returns the delivery (``status``, ``answer``, ``payload``, ...). Raises the emulator's
        ``FeishuError`` (``.code``, ``.msg``) when Feishu would not send such a click: 230001
        no such message or no such component, 230054 not a card, 230011 recalled,
        99992352/99992351 unknown ``user_id``/``open_id``. Blocks until the app answered;
        in async code use :meth:`aclick_card`.

        ``transport="ws"``: deliver the click over the app's long connection instead (as
        Feishu does for an app in long-connection mode): ``card.action.trigger`` in an event
        frame, the card in the ack's answer applied; the result then has
        ``"transport": "ws"`` and ``status`` 200 once acked (None when no ack came within
        10 s). ``legacy`` is for the webhook only.
        """
        import anyio

        body = _click_body(
            value, name, tag, user_id, open_id, form_value, input_value, option, legacy
        )
        if _click_transport(transport, legacy) == "ws":
            from .longconn_state import finish_click, prepare_click

            push = prepare_click(self.state, message_id, body)
            push.done.wait(_WS_CLICK_TIMEOUT)
            return finish_click(self.state, push)
        from .routes_callbacks import click_card

        return anyio.run(click_card, self.state, message_id, body)

    async def aclick_card(
        self,
        message_id: str,
        value: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        tag: str | None = None,
        user_id: str | None = None,
        open_id: str | None = None,
        form_value: Mapping[str, Any] | None = None,
        input_value: str | None = None,
        option: str | None = None,
        legacy: bool = False,
        transport: str = "webhook",
    ) -> dict[str, Any]:
        """:meth:`click_card` for async code (the callback is delivered from this loop;
        ``transport="ws"``: over the long connection, waited for in a worker thread)."""
        from .routes_callbacks import click_card

        body = _click_body(
            value, name, tag, user_id, open_id, form_value, input_value, option, legacy
        )
        if _click_transport(transport, legacy) == "ws":
            import anyio

            from .longconn_state import finish_click, prepare_click

            push = prepare_click(self.state, message_id, body)
            await anyio.to_thread.run_sync(push.done.wait, _WS_CLICK_TIMEOUT)
            return finish_click(self.state, push)
        return await click_card(self.state, message_id, body)

    # -- time, tokens, faults --------------------------------------------------------------

    def now(self) -> float:
        """The emulator clock, in epoch seconds."""
        return self.state.clock.now()

    def advance_clock(self, seconds: float) -> float:
        """Move the emulator clock forward; return the new ``now()``."""
        return self.state.clock.advance(seconds)

    def revoke_tokens(
        self, app_id: str | None = None, token: str | None = None, kind: str | None = None
    ) -> int:
        """Revoke live tokens (all when no filter is given); return how many."""
        return self.state.revoke_tokens(app_id=app_id, token=token, kind=kind)

    def inject_fault(
        self,
        path: str,
        kind: str,
        *,
        count: int | None = 1,
        method: str | None = None,
        **params: Any,
    ) -> Fault:
        """Break the next ``count`` calls to ``path`` (a glob allowed); see ``faults.py``."""
        return self.state.faults.add(path, kind, count=count, method=method, **params)

    def faults(self) -> list[Fault]:
        """Faults still armed."""
        return self.state.faults.list()

    def clear_faults(self) -> None:
        """Remove every fault."""
        self.state.faults.clear()


_WS_CLICK_TIMEOUT = 10.0
"""Seconds a click over the long connection waits for its ack (as the HTTP click control)."""


def _click_transport(transport: str, legacy: bool) -> str:
    if transport not in ("webhook", "ws"):
        raise ValueError("transport must be 'webhook' or 'ws'")
    if transport == "ws" and legacy:
        raise ValueError("the long connection carries card.action.trigger only, not legacy")
    return transport


def _click_body(
    value: Mapping[str, Any] | None,
    name: str | None,
    tag: str | None,
    user_id: str | None,
    open_id: str | None,
    form_value: Mapping[str, Any] | None,
    input_value: str | None,
    option: str | None,
    legacy: bool,
) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "value": dict(value) if value is not None else None,
        "name": name,
        "tag": tag,
        "user_id": user_id,
        "open_id": open_id,
        "form_value": dict(form_value) if form_value is not None else None,
        "input_value": input_value,
        "option": option,
    }
    body = {k: v for k, v in fields.items() if v is not None}
    if legacy:
        body["legacy"] = True
    return body


def run(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    seed_demo: bool = True,
    log_level: str = "info",
    state: EmulatorState | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the emulator in the foreground until interrupted (``lark-service emulator``).

    The server is set up as :class:`Emulator` sets up its own (h11, Feishu's header casing).
    ``port=0`` picks a free port; ``on_ready(url)`` is called once it listens.
    """
    import uvicorn  # noqa: F401  # the extras first: nothing is bound when one is missing

    from .app import create_app

    state = state or EmulatorState()
    if seed_demo:
        state.seed_demo()
    app = create_app(state)
    server_class = _server_class()
    sock = _listen(host, port)
    try:
        url = _url(host, int(sock.getsockname()[1]))
        config = server_config(app, log_level=log_level, console=True)
        announce = (lambda: on_ready(url)) if on_ready is not None else None
        server_class(config, app, announce).run(sockets=[sock])
    finally:
        sock.close()
