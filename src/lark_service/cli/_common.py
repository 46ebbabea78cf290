"""Shared CLI pieces: one error handler, the console, client options."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from ..errors import ConfigError, LarkError, ValidationError

__all__ = [
    "CLI_PHRASES",
    "OPTIONAL_MODULES",
    "app_options",
    "cli_terms",
    "console",
    "ensure_installed",
    "err_console",
    "handle_error",
    "install_command",
    "make_client",
    "markup_safe",
    "missing_extra",
    "print_json",
    "user_errors",
]

P = ParamSpec("P")
T = TypeVar("T")


def console() -> Any:
    from rich.console import Console

    return Console()


def err_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def user_errors(fn: Callable[P, T]) -> Callable[P, T]:
    """Turn expected errors into one clear message and a non-zero exit (no traceback).

    Exit codes: 2 for a bad input (:class:`~lark_service.errors.ValidationError`, like click's
    usage errors), 1 for every other expected failure (Feishu, network, configuration, a
    missing optional extra). Anything else is a bug and keeps its traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            handle_error(exc)
            raise

    return wrapper


def handle_error(exc: BaseException, command: str | None = None) -> None:
    """Show ``exc`` and exit when it is an expected error; return (to re-raise) otherwise.

    The one error display of the CLI: every command's errors pass through here, through
    :func:`user_errors` or the ``lark-service`` group itself.
    """
    missing = missing_extra(exc, command)
    if missing is not None:
        module, install = missing
        _show(
            "MissingDependencyError",
            f"the optional package {module} is not installed",
            (),
            f"pip install {install}",
        )
        raise SystemExit(1)
    if isinstance(exc, LarkError):
        _fail(exc, 2 if isinstance(exc, ValidationError) else 1)
    settings_error = _settings_error(exc)
    if settings_error is not None:
        _show("ConfigError", settings_error, (), "Fix the variable (environment or .env file).")
        raise SystemExit(1)


def _fail(exc: LarkError, code: int) -> NoReturn:
    details = [
        f"{name}={value}"
        for name, value in (
            ("code", exc.code),
            ("http_status", exc.http_status),
            ("request_id", exc.request_id),
            ("log_id", exc.log_id),
        )
        if value is not None
    ]
    _show(type(exc).__name__, cli_terms(exc.msg) or exc.msg, details, cli_terms(exc.hint))
    raise SystemExit(code)


def _show(kind: str, msg: str, details: Iterable[str], hint: str | None) -> None:
    from rich.markup import escape

    out = err_console()
    # soft_wrap: long lines stay whole (copyable, greppable) instead of being cut at 80 columns.
    out.print(f"[bold red]error:[/] {escape(kind)}: {escape(msg)}", highlight=False, soft_wrap=True)
    details = list(details)
    if details:
        out.print("  " + escape("  ".join(details)), highlight=False, soft_wrap=True)
    if hint:
        out.print(f"  [yellow]hint:[/] {escape(hint)}", highlight=False, soft_wrap=True)


# --- optional extras -----------------------------------------------------------------------

# Top-level module -> the extra (of ``pip install 'lark-service[extra]'``) that brings it, or
# the package to install when no extra does.
OPTIONAL_MODULES: dict[str, tuple[str | None, str]] = {
    "aio_pika": ("rabbitmq", "aio-pika"),
    "aiormq": ("rabbitmq", "aio-pika"),
    "pamqp": ("rabbitmq", "aio-pika"),
    "psycopg": ("postgres", "psycopg"),
    "psycopg_binary": ("postgres", "psycopg"),
    "fastapi": ("server", "fastapi"),
    "uvicorn": ("server", "uvicorn"),
    "multipart": ("server", "python-multipart"),
    "python_multipart": ("server", "python-multipart"),
    "prometheus_client": ("metrics", "prometheus-client"),
    "redis": ("redis", "redis"),
    "h2": ("http2", "h2"),
    "flask": ("flask", "flask"),
    "django": ("django", "django"),
    "httpx_aiohttp": (None, "httpx-aiohttp"),
    "starlette": ("testing", "starlette"),
}

# Commands that need a module for another extra than the table's (the emulator runs on
# starlette/uvicorn from the ``testing`` extra, not the server's FastAPI).
_COMMAND_EXTRAS: dict[str, dict[str, str]] = {
    "emulator": {"uvicorn": "testing", "starlette": "testing", "multipart": "testing"},
    "demo": {"uvicorn": "testing", "starlette": "testing", "multipart": "testing"},
}


def install_command(module: str, command: str | None = None) -> str | None:
    """``'lark-service[extra]'`` (or the package) to install for ``module``; None if unknown."""
    top = module.split(".", 1)[0]
    known = OPTIONAL_MODULES.get(top)
    if known is None:
        return None
    extra, package = known
    if command is not None:
        extra = _COMMAND_EXTRAS.get(command, {}).get(top, extra)
    return f"'lark-service[{extra}]'" if extra else package


def ensure_installed(*modules: str, command: str | None = None) -> None:
    """Raise a ``ConfigError`` naming the extra to install when one of ``modules`` is absent.

    For commands that would otherwise retry forever or wrap the ImportError in a broker
    error (``worker`` waiting for RabbitMQ): check before the retry loop.
    """
    for module in modules:
        if _not_importable(module):
            install = install_command(module, command or _command_name())
            raise ConfigError(
                f"the optional package {_package_name(module)} is not installed",
                hint=f"pip install {install or _package_name(module)}",
            )


def missing_extra(exc: BaseException, command: str | None = None) -> tuple[str, str] | None:
    """``(module, what to pip install)`` when ``exc`` (or what caused it: a broker error
    wrapping the ImportError of aio-pika) is a missing optional module."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ImportError):
            name = current.name or _module_in(str(current))
            if name and _not_importable(name):
                install = install_command(name, command or _command_name())
                if install is not None:
                    return _package_name(name), install
        current = current.__cause__ or current.__context__
    return None


def _not_importable(module: str) -> bool:
    """Whether ``module``'s package is really absent (not an ImportError from inside it)."""
    import importlib.util

    top = module.split(".", 1)[0]
    try:
        return importlib.util.find_spec(top) is None
    except (ImportError, ValueError):
        return True


def _module_in(text: str) -> str | None:
    found = re.search(r"module named '([\w.]+)'|import of ([\w.]+) halted", text)
    return (found.group(1) or found.group(2)) if found else None


def _package_name(module: str) -> str:
    top = module.split(".", 1)[0]
    return OPTIONAL_MODULES[top][1] if top in OPTIONAL_MODULES else top


def _command_name() -> str | None:
    """The top-level command being run (``send``, ``emulator``...), if any."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None and ctx.parent is not None and ctx.parent.parent is not None:
        ctx = ctx.parent
    return ctx.info_name if ctx is not None and ctx.parent is not None else None


def _settings_error(exc: BaseException) -> str | None:
    """A one-line message for an invalid ``LARK_*`` setting (pydantic's error on Settings)."""
    try:
        from pydantic import ValidationError as PydanticValidationError
    except ImportError:  # pragma: no cover - pydantic is a dependency
        return None
    if not isinstance(exc, PydanticValidationError) or exc.title != "Settings":
        return None
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error.get("loc", ()))
        problems.append(f"LARK_{field.upper()}: {error.get('msg', 'invalid')}")
    return "invalid setting " + "; ".join(problems)


# --- Python phrases -> CLI phrases ---------------------------------------------------------

_Replacement = str | Callable[["re.Match[str]"], str]


def _has_param(name: str, kind: type[click.Parameter] = click.Parameter) -> bool:
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return False
    return any(p.name == name and isinstance(p, kind) for p in ctx.command.params)


def _base_url_hint(_: re.Match[str]) -> str:
    if _has_param("base_url", click.Option):
        return (
            "Check --base-url / LARK_BASE_URL (a registered app uses its stored domain: "
            "`lark-service app show APP_ID`) and the network path to Feishu."
        )
    return (
        "Check the app's domain (`lark-service app show APP_ID`; change it with "
        "`lark-service app update APP_ID --domain ...`) and the network path to Feishu."
    )


def _command_params(text: str) -> str:
    """Python names of the running command's parameters (``department_id``, ``receive_id``)
    written as the command line spells them (``--department``, ``--to``, ``APP_ID``)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return text
    spelled: dict[str, str] = {}
    for param in ctx.command.params:
        if not param.name or "_" not in param.name:  # plain words ("text") stay prose
            continue
        if isinstance(param, click.Option):
            longs = [o for o in param.opts if o.startswith("--")]
            if longs and not param.hidden:
                spelled[param.name] = longs[0]
        elif isinstance(param, click.Argument):
            spelled[param.name] = param.human_readable_name
    for name in sorted(spelled, key=len, reverse=True):
        # Not inside a path or template ("/callbacks/<app_id>/event") nor a keyword ("x=").
        text = re.sub(rf"(?<![-\w</{{]){re.escape(name)}(?![\w=>}}])", spelled[name], text)
    return text


# Most specific first. Library hints speak Python (they are also raised to library callers);
# the CLI shows the same advice with its flags, variables and commands.
CLI_PHRASES: list[tuple[re.Pattern[str], _Replacement]] = [
    (
        re.compile(r"Pass app_id= and app_secret=, set LARK_APP_ID/LARK_APP_SECRET,"),
        "Set LARK_APP_ID and LARK_APP_SECRET (or pass --app-id with LARK_APP_SECRET set),",
    ),
    (re.compile(r"\b[Pp]ass app_id="), "Pass --app-id"),
    (
        re.compile(r"\bor pass app_secret="),
        "or set LARK_APP_SECRET (with --app-id) for an ad hoc app",
    ),
    (re.compile(r"\b[Pp]ass app_secret="), "Set LARK_APP_SECRET"),
    (re.compile(r"\bno app_id given\b"), "no app given (--app-id / LARK_APP_ID)"),
    (re.compile(r"client\.chats\.list_chats\(\)"), "`lark-service chat list`"),
    (
        re.compile(r"\blist the chats it is in\b"),
        "list the chats it is in (`lark-service chat list`)",
    ),
    (re.compile(r"client\.chats\.get_chat_by_name\(\)"), "`lark-service chat find NAME`"),
    (re.compile(r"client\.contact\.resolve\(\)"), "`lark-service user lookup`"),
    (re.compile(r"Check LARK_BASE_URL / the network path to Feishu\."), _base_url_hint),
    (re.compile(r"raise the timeout\b"), "raise LARK_READ_TIMEOUT (LARK_CONNECT_TIMEOUT)"),
    (re.compile(r"\bhttp_backend='(\w+)'"), r"LARK_HTTP_BACKEND=\1"),
    (re.compile(r"\bunknown http_backend\b"), "unknown LARK_HTTP_BACKEND"),
    (re.compile(r"\bturn http2 off\b"), "turn HTTP/2 off"),
    (re.compile(r"Check app_id:"), "Check the app id:"),
    (
        re.compile(r"Check app_secret\b"),
        "Check the app secret (`lark-service app update APP_ID --prompt-secret`, or "
        "LARK_APP_SECRET)",
    ),
    (
        re.compile(r"to the output of `python -c \"[^\"]*\"`"),
        "to a Fernet key (44 url-safe base64 characters)",
    ),
    (re.compile(r"\bcard dict\b"), "card JSON"),
    # A command is its own process: advice about sharing a client across fork() is moot.
    (re.compile(r",? and never share a client's connections across fork\(\)"), ""),
    (
        re.compile(r"client\.auth\.send_auth_card\([^)]*\)"),
        "a new consent link: `lark-service auth url --user OPEN_ID`",
    ),
    (re.compile(r"client\.auth\.status\([^)]*\)"), "`lark-service auth status OPEN_ID`"),
    (re.compile(r"\buse_app\([^)]*\)"), "--app-id"),
    (re.compile(r"\bwith_options\([^)]*\)"), "the LARK_* settings"),
]


def cli_terms(text: str | None) -> str | None:
    """``text`` (a library message or hint) with its Python phrases in CLI terms."""
    if not text:
        return text
    for pattern, replacement in CLI_PHRASES:
        text = pattern.sub(replacement, text)
    return _command_params(text)


def markup_safe(value: object) -> str:
    """``str(value)`` escaped for Rich: ``[postgres]`` stays text, not a style tag."""
    from rich.markup import escape

    return escape(str(value))


def app_options(fn: Callable[P, T]) -> Callable[P, T]:
    """``--app-id`` and ``--base-url`` for commands that call Feishu."""
    fn = click.option(
        "--base-url",
        envvar="LARK_BASE_URL",
        default=None,
        help="OpenAPI base URL (default https://open.feishu.cn; the emulator's URL in tests).",
    )(fn)
    fn = click.option(
        "--app-id", default=None, help="App to act as (default: LARK_APP_ID or the only app)."
    )(fn)
    return fn


def make_client(app_id: str | None, base_url: str | None) -> Any:
    """A client for ``--app-id``; with ``LARK_APP_SECRET`` set and no ``LARK_APP_ID``, the two
    form an ad hoc app (secrets never go on the command line, where ``ps`` shows them)."""
    from .. import LarkClient
    from ..config import get_settings

    settings = get_settings()
    secret = None
    if app_id and settings.app_secret is not None and settings.app_id in (None, app_id):
        secret = settings.app_secret.get_secret_value()
    client = LarkClient(app_id=app_id, app_secret=secret, base_url=base_url, settings=settings)
    if base_url and secret is None:
        _check_base_url(client, base_url)
    return client


def _check_base_url(client: Any, base_url: str) -> None:
    """--base-url is for ad hoc apps: a registered app keeps its stored domain, so say so
    instead of silently calling another host."""
    try:
        app = client.resolve_app()
    except Exception:
        return  # the command reports the app error itself
    if app.source == "registry" and app.base_url.rstrip("/") != base_url.rstrip("/"):
        client.close()
        raise ConfigError(
            f"app {app.app_id} is registered with the domain {app.base_url}; --base-url "
            f"{base_url} applies only to ad hoc apps",
            hint=f"Change its domain with `lark-service app update {app.app_id} --domain "
            f"{base_url}`, or drop --base-url.",
        )


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
