"""``lark-service doc ...``: create, append to, read and share Docx documents.

``create --title T [--markdown FILE]``, ``append DOC --markdown FILE`` (a progress bar counts
the blocks as the calls go), ``cat DOC [--markdown]`` (plain text, or Markdown rendered from
the blocks), ``share DOC --to EMAIL --perm edit``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..cli._common import (
    app_options,
    console,
    err_console,
    make_client,
    markup_safe,
    print_json,
    user_errors,
)
from ..errors import ValidationError

__all__ = ["command"]


@click.group("doc")
def command() -> None:
    """Docx documents: create from Markdown, append, print, share."""


def _read_markdown(path: str) -> tuple[str, Path]:
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8"), file.resolve().parent
    except FileNotFoundError:
        raise ValidationError(f"--markdown {path}: no such file", field="markdown") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"--markdown {path} cannot be read as UTF-8 text: {exc}", field="markdown"
        ) from None


def _append_with_progress(
    client: Any, document_id: str, markdown: str, base: Path, quiet: bool
) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .markdown import markdown_to_blocks

    blocks = markdown_to_blocks(markdown, base_dir=base)
    if not blocks:
        return None
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console(),
        transient=quiet,
    ) as progress:
        task = progress.add_task("appending blocks", total=len(blocks))

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return client.docs.append_content(document_id, blocks, on_progress=on_progress)


@command.command("create")
@click.option("--title", required=True, help="The document's title.")
@click.option("--markdown", "markdown_file", default=None, help="A Markdown file to put in it.")
@click.option(
    "--folder", "folder_token", default=None, help="Folder token (default: the app's space)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@app_options
@user_errors
def create(
    title: str,
    markdown_file: str | None,
    folder_token: str | None,
    as_json: bool,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Create a document, optionally filled from a Markdown file (local images uploaded)."""
    source = _read_markdown(markdown_file) if markdown_file else None
    with make_client(app_id, base_url) as client:
        document = client.docs.create_document(title, folder_token=folder_token)
        result = None
        if source is not None:
            result = _append_with_progress(
                client, document.document_id, source[0], source[1], as_json
            )
    blocks = len(result.block_ids) if result is not None else 0
    if as_json:
        print_json({**document.model_dump(mode="json"), "blocks": blocks})
        return
    console().print(
        f"Created document [bold]{markup_safe(document.document_id)}[/] "
        f"({markup_safe(title)}), {blocks} block(s)"
    )


@command.command("append")
@click.argument("document_id")
@click.option("--markdown", "markdown_file", required=True, help="The Markdown file to append.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@app_options
@user_errors
def append(
    document_id: str, markdown_file: str, as_json: bool, app_id: str | None, base_url: str | None
) -> None:
    """Append a Markdown file to the end of a document."""
    markdown, base = _read_markdown(markdown_file)
    with make_client(app_id, base_url) as client:
        result = _append_with_progress(client, document_id, markdown, base, as_json)
    if as_json:
        print_json(result.model_dump(mode="json") if result is not None else {"block_ids": []})
        return
    count = len(result.block_ids) if result is not None else 0
    calls = result.calls if result is not None else 0
    console().print(f"Appended {count} block(s) to {markup_safe(document_id)} in {calls} call(s)")


@command.command("cat")
@click.argument("document_id")
@click.option("--markdown", "as_markdown", is_flag=True, help="Markdown rendered from the blocks.")
@app_options
@user_errors
def cat(document_id: str, as_markdown: bool, app_id: str | None, base_url: str | None) -> None:
    """Print a document: plain text, or Markdown with --markdown."""
    with make_client(app_id, base_url) as client:
        if as_markdown:
            text = client.docs.to_markdown(document_id)
        else:
            text = client.docs.get_raw_content(document_id)
    click.echo(text, nl=False)


@command.command("share")
@click.argument("document_id")
@click.option("--to", "member", required=True, help="Email (or open_id, chat_id) to share with.")
@click.option(
    "--perm",
    type=click.Choice(["view", "edit", "full_access"]),
    default="view",
    show_default=True,
    help="What the member may do.",
)
@click.option("--notify", is_flag=True, help="Send Feishu's notification to the member.")
@app_options
@user_errors
def share(
    document_id: str,
    member: str,
    perm: str,
    notify: bool,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Share a document with a person (by email), a chat or a user id."""
    with make_client(app_id, base_url) as client:
        client.drive.grant_permission(document_id, member, perm, doc_type="docx", notify=notify)
    console().print(
        f"Shared {markup_safe(document_id)} with {markup_safe(member)} ({markup_safe(perm)})"
    )
