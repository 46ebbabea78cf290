"""CLI messages (issue 10, point 19): Rich keeps bracketed text, hints speak CLI terms (flags,
variables, commands) instead of Python, a missing optional extra names what to install, and
expected errors are one clear line with a stable exit code, never a traceback."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

import lark_service
from lark_service import errors
from lark_service.cli import cli
from lark_service.cli._common import (
    OPTIONAL_MODULES,
    cli_terms,
    ensure_installed,
    install_command,
    user_errors,
)
from lark_service.storage.engine import dispose_all
from lark_service.testing.emulator.server import Emulator

SRC = Path(lark_service.__file__).parent

# What a hint must not contain once the CLI shows it: keyword arguments, calls, the client
# object, Python-only settings and snippets.
PYTHON_ISMS = [
    re.compile(r"(?<![-\w])[a-z_][a-z0-9_]*=(?!\S*@)"),  # app_id=, app_secret=
    re.compile(r"\b[a-z_][\w.]*\((\.\.\.)?\)"),  # list_chats(), use_app(...)
    re.compile(r"\bclient\."),
    re.compile(r"\b(use_app|with_options|http_backend)\b"),
    re.compile(r"python -c"),
    re.compile(r"\bdict\b"),
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    dispose_all()


def one_error(result: Result, code: int) -> str:
    """Exit ``code``, one ``error:`` line, no traceback; the whole output."""
    text = result.output
    assert result.exit_code == code, text
    assert "Traceback" not in text
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert len([line for line in text.splitlines() if line.startswith("error:")]) == 1, text
    return text


def python_isms(text: str) -> list[str]:
    return [m.group(0) for pattern in PYTHON_ISMS for m in pattern.finditer(text)]


# --- Rich markup --------------------------------------------------------------------------


def _raising(exc: BaseException) -> Callable[..., object]:
    def make_client(*args: object, **kwargs: object) -> object:
        raise exc

    return make_client


def test_bracketed_text_in_messages_and_hints_survives_rich(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    error = errors.ConfigError(
        "the [bold]driver[/bold] for [postgres] is missing",
        hint="pip install 'lark-service[postgres]' (psycopg 3).",
    )
    monkeypatch.setattr("lark_service.cli.chat.make_client", _raising(error))
    text = one_error(runner.invoke(cli, ["chat", "list"]), 1)
    assert "the [bold]driver[/bold] for [postgres] is missing" in text
    assert "pip install 'lark-service[postgres]' (psycopg 3)." in text


def test_long_hints_are_not_cut_into_lines(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    hint = "word " * 40 + "pip install 'lark-service[rabbitmq]'"
    monkeypatch.setattr(
        "lark_service.cli.chat.make_client", _raising(errors.ConfigError("x", hint=hint))
    )
    text = one_error(runner.invoke(cli, ["chat", "list"]), 1)
    assert f"hint: {hint}" in text


def test_chat_names_with_brackets_are_shown_whole(
    runner: CliRunner, lark_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    lark_emulator.add_app("cli_cli", "cli-secret")
    lark_emulator.add_chat(chat_id="oc_ops", name="[Ops] alerts [bold]x[/bold]")
    monkeypatch.setenv("LARK_APP_SECRET", "cli-secret")
    args = ["--app-id", "cli_cli", "--base-url", lark_emulator.url]
    listed = runner.invoke(cli, ["chat", "list", *args], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert "[Ops] alerts [bold]x[/bold]" in listed.output
    found = runner.invoke(cli, ["chat", "find", "[Ops] alerts", *args], terminal_width=200)
    assert found.exit_code == 0, found.output
    assert "[Ops] alerts [bold]x[/bold]" in found.output


# --- hints in CLI terms ---------------------------------------------------------------------


def _render(node: ast.expr) -> list[str]:
    """The strings an expression can be (f-string fields as ``X``), [] if not a literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [
            "".join(
                v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "X"
                for v in node.values
            )
        ]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [a + b for a in _render(node.left) for b in _render(node.right)]
    if isinstance(node, ast.IfExp):
        return _render(node.body) + _render(node.orelse)
    return []


def library_hints() -> list[str]:
    """Every hint the library can raise: ``hint=`` literals, ``_HINT*`` constants, and the
    Feishu code table's hints."""
    found: set[str] = set()
    for path in sorted(SRC.rglob("*.py")):
        if path.name.startswith("_sync_"):  # generated twins of the _async_ sources
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            hint_keyword = isinstance(node, ast.keyword) and node.arg == "hint"
            hint_constant = (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and "HINT" in node.targets[0].id
            )
            if hint_keyword or hint_constant:
                assert isinstance(node, ast.keyword | ast.Assign)
                found.update(_render(node.value))
    found.update(rule.hint for rule in errors.CODE_TABLE.values())
    return sorted(h for h in found if h)


def test_the_hint_collection_sees_the_known_python_hints() -> None:
    hints = library_hints()
    assert len(hints) > 60
    assert any("Pass app_id=" in h for h in hints)
    assert any("Check LARK_BASE_URL" in h for h in hints)


# A command with --app-id/--base-url/--to (send text) and one with an APP_ID argument only.
_CONTEXTS = {
    "send text": ["send", "text"],
    "chat list": ["chat", "list"],
    "app test": ["app", "test"],
}


def _command(path: list[str]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


@pytest.mark.parametrize("where", sorted(_CONTEXTS))
def test_every_library_hint_is_shown_in_cli_terms(where: str) -> None:
    leftovers = {}
    with click.Context(_command(_CONTEXTS[where]), info_name=_CONTEXTS[where][-1]):
        for hint in library_hints():
            shown = cli_terms(hint)
            assert shown
            if python_isms(shown):
                leftovers[hint] = (shown, python_isms(shown))
    assert not leftovers, leftovers


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        ("Pass app_id= (one of: a, b)", "Pass --app-id (one of: a, b)"),
        (
            "Pass app_id= and app_secret=, set LARK_APP_ID/LARK_APP_SECRET, or register one "
            "with `lark-service app add`.",
            "Set LARK_APP_ID and LARK_APP_SECRET (or pass --app-id with LARK_APP_SECRET set), "
            "or register one with `lark-service app add`.",
        ),
        (
            "The app's bot must be in the chat; list them with client.chats.list_chats().",
            "The app's bot must be in the chat; list them with `lark-service chat list`.",
        ),
        (
            "The app's bot must be in the chat; list the chats it is in to check.",
            "The app's bot must be in the chat; list the chats it is in "
            "(`lark-service chat list`) to check.",
        ),
        ("Check receive_id and receive_id_type.", "Check --to and --type."),
        (
            "Use http_backend='httpx' (or 'auto') for HTTP/2, or turn http2 off.",
            "Use LARK_HTTP_BACKEND=httpx (or 'auto') for HTTP/2, or turn HTTP/2 off.",
        ),
        ("pip install 'lark-service[postgres]' (psycopg 3).", None),
    ],
)
def test_python_phrases_become_flags_and_commands(hint: str, expected: str | None) -> None:
    with click.Context(_command(["send", "text"]), info_name="text"):
        assert cli_terms(hint) == (hint if expected is None else expected)


def test_receive_id_stays_where_the_command_has_no_to_option() -> None:
    with click.Context(_command(["chat", "list"]), info_name="list"):
        assert cli_terms("Check receive_id.") == "Check receive_id."


def test_parameter_names_are_spelled_as_the_command_line_spells_them() -> None:
    with click.Context(_command(["user", "sync"]), info_name="sync"):
        assert cli_terms("department_id must be a non-empty string, got ''") == (
            "--department must be a non-empty string, got ''"
        )
        assert cli_terms("unknown department_id_type 'x'") == ("unknown --department-id-type 'x'")
    with click.Context(_command(["app", "test"]), info_name="test"):
        assert cli_terms("app_id must not be empty") == "APP_ID must not be empty"
        assert cli_terms("Use /callbacks/<app_id>/event.") == "Use /callbacks/<app_id>/event."
    with click.Context(_command(["send", "text"]), info_name="text"):
        assert cli_terms("text must not be empty") == "text must not be empty"  # prose


def test_a_bad_department_is_named_by_its_flag(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        ["user", "sync", "--department", "", "--app-id", "cli_x", "--base-url", "http://x"],
        env={"LARK_APP_SECRET": "s"},
    )
    text = one_error(result, 2)
    assert "ValidationError: --department must be" in text and "department_id" not in text


def test_no_app_error_speaks_cli_terms(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["send", "text", "--to", "ou_1", "--base-url", "http://127.0.0.1:9", "x"]
    )
    text = one_error(result, 1)
    assert "AppNotSpecifiedError" in text
    assert "app_id=" not in text and "app_secret=" not in text
    assert "LARK_APP_ID" in text and "lark-service app add" in text


def test_unknown_chat_hint_names_the_chat_list_command(
    runner: CliRunner, lark_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    lark_emulator.add_app("cli_cli", "cli-secret")
    monkeypatch.setenv("LARK_APP_SECRET", "cli-secret")
    result = runner.invoke(
        cli,
        ["chat", "find", "Nowhere", "--app-id", "cli_cli", "--base-url", lark_emulator.url],
    )
    text = one_error(result, 1)
    assert "NotFoundError" in text
    assert "`lark-service chat list`" in text and "client." not in text


def test_unreachable_feishu_with_base_url_flag_names_the_flag(runner: CliRunner) -> None:
    result = runner.invoke(
        cli,
        ["chat", "list", "--app-id", "cli_x", "--base-url", "http://127.0.0.1:9"],
        env={"LARK_APP_SECRET": "s"},
    )
    text = one_error(result, 1)
    assert "ConnectionError" in text and "--base-url / LARK_BASE_URL" in text


def test_app_test_of_a_registered_app_points_at_its_domain_not_lark_base_url(
    runner: CliRunner,
) -> None:
    assert runner.invoke(cli, ["init"], catch_exceptions=False).exit_code == 0
    added = runner.invoke(
        cli,
        ["app", "add", "cli_far", "--secret", "s", "--domain", "http://127.0.0.1:9"],
        catch_exceptions=False,
    )
    assert added.exit_code == 0, added.output
    dispose_all()
    text = one_error(runner.invoke(cli, ["app", "test", "cli_far"]), 1)
    assert "ConnectionError" in text
    hint = text.split("hint:", 1)[1]
    assert "LARK_BASE_URL" not in hint
    assert "lark-service app show APP_ID" in hint and "--domain" in hint


def test_base_url_for_a_registered_app_is_refused_not_ignored(runner: CliRunner) -> None:
    # a registered app keeps its stored domain: --base-url must not be silently dropped
    assert runner.invoke(cli, ["init"], catch_exceptions=False).exit_code == 0
    added = runner.invoke(
        cli,
        ["app", "add", "cli_far", "--secret", "s", "--domain", "http://127.0.0.1:9"],
        catch_exceptions=False,
    )
    assert added.exit_code == 0, added.output
    dispose_all()
    result = runner.invoke(
        cli,
        [
            "send",
            "text",
            "--to",
            "ou_1",
            "hi",
            "--app-id",
            "cli_far",
            "--base-url",
            "http://127.0.0.1:8",
        ],
    )
    text = one_error(result, 1)
    assert "registered with the domain http://127.0.0.1:9" in text
    assert "lark-service app update cli_far --domain http://127.0.0.1:8" in text


# --- missing optional extras ----------------------------------------------------------------


@pytest.mark.parametrize("module", sorted(OPTIONAL_MODULES))
def test_a_missing_module_names_what_to_install(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)

    @click.command()
    @user_errors
    def needs() -> None:
        __import__(module)

    result = runner.invoke(needs, [])
    text = one_error(result, 1)
    install = install_command(module)
    assert install is not None and f"pip install {install}" in text
    assert "cannot connect" not in text


def test_extras_match_pyproject() -> None:
    pyproject = (SRC.parent.parent / "pyproject.toml").read_text(encoding="utf-8")
    extras = set(re.findall(r"^(\w+) = \[", pyproject, re.MULTILINE))
    for module, (extra, _) in OPTIONAL_MODULES.items():
        if extra is not None:
            assert extra in extras, (module, extra)


def test_a_missing_rabbitmq_client_is_not_reported_as_cannot_connect(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "aio_pika", None)
    result = runner.invoke(
        cli,
        ["callbacks", "dlq", "list", "--source", "queue", "--amqp-url", "amqp://127.0.0.1:1/"],
    )
    text = one_error(result, 1)
    assert "aio-pika" in text and "pip install 'lark-service[rabbitmq]'" in text
    assert "cannot connect" not in text


def test_a_missing_postgres_driver_names_the_postgres_extra(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.setenv("LARK_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/missing")
    text = one_error(runner.invoke(cli, ["cache", "stats"]), 1)
    assert "pip install 'lark-service[postgres]'" in text


def test_a_missing_server_extra_is_named_by_serve(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    text = one_error(runner.invoke(cli, ["serve"]), 1)
    assert "pip install 'lark-service[server]'" in text


def test_the_emulator_needs_the_testing_extra_not_the_server_one(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    result = runner.invoke(cli, ["emulator", "--port", "0"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "pip install 'lark-service[testing]'" in result.output


def test_ensure_installed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    ensure_installed("click")  # present: nothing
    monkeypatch.setitem(sys.modules, "aio_pika", None)
    with pytest.raises(errors.ConfigError) as raised:
        ensure_installed("aio_pika", command="worker")
    assert raised.value.hint == "pip install 'lark-service[rabbitmq]'"
    assert "aio-pika" in raised.value.msg


def test_an_import_error_inside_an_installed_package_is_not_a_missing_extra(
    runner: CliRunner,
) -> None:
    @click.command()
    @user_errors
    def broken() -> None:
        raise ImportError("cannot import name 'nope' from 'click'", name="click")

    result = runner.invoke(broken, [])
    assert isinstance(result.exception, ImportError)  # a bug: kept, not disguised


def test_errors_escaping_a_command_without_the_decorator_get_the_display(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    @click.command("undecorated")
    def undecorated() -> None:
        raise errors.ConfigError("boom [x]", hint="pip install 'lark-service[metrics]'")

    monkeypatch.setitem(cli.commands, "undecorated", undecorated)
    text = one_error(runner.invoke(cli, ["undecorated"]), 1)
    assert "boom [x]" in text and "pip install 'lark-service[metrics]'" in text


# --- settings and exit codes ----------------------------------------------------------------


def test_an_invalid_setting_is_one_line_naming_the_variable(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARK_HTTP_BACKEND", "carrier-pigeon")
    text = one_error(runner.invoke(cli, ["chat", "list"]), 1)
    assert "LARK_HTTP_BACKEND" in text and "carrier-pigeon" not in text


def test_exit_codes_are_stable(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    # 2: a bad input (ours, like click's usage errors); 1: any other expected failure.
    for error, code in [
        (errors.ValidationError("bad id"), 2),
        (errors.ConfigError("bad config"), 1),
        (errors.NotFoundError("gone"), 1),
        (errors.ConnectionError("down"), 1),
    ]:
        monkeypatch.setattr("lark_service.cli.chat.make_client", _raising(error))
        one_error(runner.invoke(cli, ["chat", "list"]), code)
    assert runner.invoke(cli, ["chat", "list", "--nope"]).exit_code == 2


def test_a_worker_without_aio_pika_names_the_extra_instead_of_waiting(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the worker waits for an unreachable broker; a missing client library is not an outage
    monkeypatch.setitem(sys.modules, "aio_pika", None)
    handlers = str(SRC.parent.parent / "tests" / "callbacks" / "sample_handlers.py")
    result = runner.invoke(
        cli, ["worker", "--handlers", handlers, "--amqp-url", "amqp://127.0.0.1:1/"]
    )
    text = one_error(result, 1)
    assert "pip install 'lark-service[rabbitmq]'" in text
