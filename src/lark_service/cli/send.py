"""``lark-service send ...``: send messages from the shell.

``text``, ``post`` (Markdown or a post JSON file), ``image`` and ``file`` (a path or a key),
``card`` (a card JSON file), and ``batch`` (one message to every id of a file, with a progress
bar and a summary table).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from ..errors import ValidationError
from ._common import (
    app_options,
    cli_terms,
    console,
    err_console,
    make_client,
    markup_safe,
    print_json,
    user_errors,
)

__all__ = ["send"]

P = ParamSpec("P")
T = TypeVar("T")

_ID_TYPES = ["open_id", "union_id", "user_id", "email", "chat_id"]


@click.group()
def send() -> None:
    """Send a message as an app."""


def _receiver_options(fn: Callable[P, T]) -> Callable[P, T]:
    fn = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(fn)
    fn = click.option(
        "--type",
        "receive_id_type",
        type=click.Choice(_ID_TYPES),
        default=None,
        help="Receiver id type (inferred from the id when omitted).",
    )(fn)
    fn = click.option(
        "--to", "receive_id", required=True, help="open_id, union_id, user_id, email or chat_id."
    )(fn)
    return fn


def _report(message: Any, receive_id: str, as_json: bool) -> None:
    if as_json:
        print_json(message.model_dump(mode="json"))
        return
    console().print(
        "[green]sent[/] "
        + markup_safe(
            f"{message.message_id} to {receive_id} "
            f"(chat {message.chat_id}, request_id {message.request_id})"
        ),
        highlight=False,
    )


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read the {what} file {str(path)!r}: {exc}") from None


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(_read_text(path, what))
    except json.JSONDecodeError as exc:
        raise ValidationError(f"the {what} file {str(path)!r} is not JSON: {exc}") from None


_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@send.command("text")
@_receiver_options
@click.option("--at", "mentions", multiple=True, help="@-mention this open_id (repeatable).")
@click.option("--at-all", is_flag=True, help="@-mention everyone in the chat.")
@app_options
@click.argument("text")
@user_errors
def send_text(
    receive_id: str,
    receive_id_type: str | None,
    as_json: bool,
    mentions: tuple[str, ...],
    at_all: bool,
    app_id: str | None,
    base_url: str | None,
    text: str,
) -> None:
    """Send TEXT to one receiver."""
    with make_client(app_id, base_url) as client:
        message = client.messaging.send_text_message(
            receive_id,
            text,
            mentions=list(mentions) or None,
            at_all=at_all,
            receive_id_type=receive_id_type,
        )
    _report(message, receive_id, as_json)


@send.command("post")
@_receiver_options
@click.option("--markdown", "markdown_file", type=_FILE, help="A Markdown file to send.")
@click.option("--post", "post_file", type=_FILE, help='A post JSON file ({"zh_cn": {...}}).')
@click.option("--title", default=None, help="Title (default: the Markdown's first # heading).")
@app_options
@click.argument("text", required=False)
@user_errors
def send_post(
    receive_id: str,
    receive_id_type: str | None,
    as_json: bool,
    markdown_file: Path | None,
    post_file: Path | None,
    title: str | None,
    app_id: str | None,
    base_url: str | None,
    text: str | None,
) -> None:
    """Send rich text: --markdown FILE, --post FILE, or Markdown TEXT."""
    sources = [s for s in (markdown_file, post_file, text) if s is not None]
    if len(sources) != 1:
        raise click.UsageError("give exactly one of --markdown FILE, --post FILE or TEXT")
    with make_client(app_id, base_url) as client:
        if post_file is not None:
            message = client.messaging.send_rich_text_message(
                receive_id, _read_json(post_file, "post"), receive_id_type=receive_id_type
            )
        else:
            markdown = _read_text(markdown_file, "Markdown") if markdown_file else str(text)
            message = client.messaging.send_markdown_message(
                receive_id, markdown, title=title, receive_id_type=receive_id_type
            )
    _report(message, receive_id, as_json)


@send.command("image")
@_receiver_options
@app_options
@click.argument("image")
@user_errors
def send_image(
    receive_id: str,
    receive_id_type: str | None,
    as_json: bool,
    app_id: str | None,
    base_url: str | None,
    image: str,
) -> None:
    """Send IMAGE: a file (uploaded; JPEG, PNG, WEBP, GIF, TIFF, BMP or ICO, at most 10 MB)
    or an image_key (img_…)."""
    with make_client(app_id, base_url) as client:
        message = client.messaging.send_image_message(
            receive_id, image, receive_id_type=receive_id_type
        )
    _report(message, receive_id, as_json)


@send.command("file")
@_receiver_options
@click.option("--name", "file_name", default=None, help="File name shown (default: its own).")
@app_options
@click.argument("file")
@user_errors
def send_file(
    receive_id: str,
    receive_id_type: str | None,
    as_json: bool,
    file_name: str | None,
    app_id: str | None,
    base_url: str | None,
    file: str,
) -> None:
    """Send FILE: a path (uploaded, at most 30 MB) or a file_key (file_…)."""
    with make_client(app_id, base_url) as client:
        message = client.messaging.send_file_message(
            receive_id, file, file_name=file_name, receive_id_type=receive_id_type
        )
    _report(message, receive_id, as_json)


@send.command("card")
@_receiver_options
@click.option("--card", "card_file", type=_FILE, required=True, help="A card JSON file.")
@app_options
@user_errors
def send_card(
    receive_id: str,
    receive_id_type: str | None,
    as_json: bool,
    card_file: Path,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Send the card of a JSON file (v1, JSON 2.0, or a template reference)."""
    card = _read_json(card_file, "card")
    with make_client(app_id, base_url) as client:
        message = client.messaging.send_interactive_card(
            receive_id, card, receive_id_type=receive_id_type
        )
    _report(message, receive_id, as_json)


def _read_ids(path: Path) -> list[str]:
    """One id per line; blank lines and ``#`` comments skipped."""
    ids = []
    for line in _read_text(path, "ids").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ids.append(line)
    if not ids:
        raise ValidationError(f"no receiver ids in {str(path)!r} (one per line)")
    return ids


@send.command("batch")
@click.option(
    "--to-file", "ids_file", type=_FILE, required=True, help="Receiver ids, one per line."
)
@click.option("--text", default=None, help="Text to send.")
@click.option("--markdown", "markdown_file", type=_FILE, help="A Markdown file to send.")
@click.option("--card", "card_file", type=_FILE, help="A card JSON file to send.")
@click.option("--image", default=None, help="An image file or image_key (uploaded once).")
@click.option(
    "--type",
    "receive_id_type",
    type=click.Choice(_ID_TYPES),
    default=None,
    help="Receiver id type of every id (inferred per id when omitted).",
)
@click.option("--concurrency", type=click.IntRange(1, 64), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@app_options
@user_errors
def send_batch(
    ids_file: Path,
    text: str | None,
    markdown_file: Path | None,
    card_file: Path | None,
    image: str | None,
    receive_id_type: str | None,
    concurrency: int,
    as_json: bool,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Send one message to every receiver in --to-file, paced under Feishu's limits."""
    chosen = [c for c in (text, markdown_file, card_file, image) if c is not None]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of --text, --markdown, --card or --image")
    receivers = _read_ids(ids_file)
    content: Any
    if text is not None:
        msg_type, content = "text", text
    elif markdown_file is not None:
        from ..messaging import markdown_to_post

        msg_type, content = "post", markdown_to_post(_read_text(markdown_file, "Markdown"))
    elif card_file is not None:
        msg_type, content = "interactive", _read_json(card_file, "card")
    else:
        msg_type, content = "image", image

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with (
        make_client(app_id, base_url) as client,
        Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=err_console(),
            transient=as_json,
        ) as progress,
    ):
        task = progress.add_task("sending", total=len(set(receivers)), failed=0)
        failed = [0]

        def on_progress(item: Any, done: int, total: int) -> None:
            if not item.ok:
                failed[0] += 1
            progress.update(task, completed=done, failed=failed[0])

        result = client.messaging.send_batch(
            receivers,
            content,
            msg_type=msg_type,
            concurrency=concurrency,
            progress=on_progress,
            receive_id_type=receive_id_type,
        )
    if as_json:
        print_json(
            [
                {
                    "receive_id": i.receive_id,
                    "ok": i.ok,
                    "message_id": i.message_id,
                    "error": None if i.error is None else type(i.error).__name__,
                    "code": None if i.error is None else i.error.code,
                    "msg": None if i.error is None else i.error.msg,
                }
                for i in result
            ]
        )
    else:
        _summary(result)
    if not result.ok:
        raise SystemExit(1)


def _summary(result: Any) -> None:
    from rich.table import Table

    out = console()
    table = Table(title=f"{len(result.succeeded)} sent, {len(result.failed)} failed")
    table.add_column("receiver")
    table.add_column("result")
    table.add_column("message_id / error")
    for item in result:
        if item.ok:
            table.add_row(
                markup_safe(item.receive_id), "[green]sent[/]", markup_safe(item.message_id)
            )
        else:
            error = item.error
            code = f" [{error.code}]" if error.code is not None else ""
            text = f"{type(error).__name__}{code}: {cli_terms(error.msg)}"
            table.add_row(markup_safe(item.receive_id), "[red]failed[/]", markup_safe(text))
    out.print(table)
