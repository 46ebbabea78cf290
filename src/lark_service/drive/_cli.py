"""``lark-service drive upload PATH [--folder TOKEN]`` and ``drive download TOKEN PATH``, with
progress bars (on stderr; stdout carries the result)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..cli._common import (
    app_options,
    err_console,
    make_client,
    markup_safe,
    print_json,
    user_errors,
)

__all__ = ["command"]


@click.group("drive")
def command() -> None:
    """Drive: upload files to a folder, download files and document media."""


@contextmanager
def _cli_words() -> Iterator[None]:
    """Library advice about keyword arguments, spelled as this command's flags."""
    import re

    from ..errors import LarkError

    try:
        yield
    except LarkError as exc:
        for name in ("msg", "hint"):
            text = getattr(exc, name)
            if text:
                text = text.replace("pass overwrite=True", "pass --overwrite")
                text = re.sub(r"resume_file='([^']*)'", r"--resume-file \1", text)
                text = re.sub(
                    r"call again with upload_id='[^']*'",
                    "run the command again with --resume-file",
                    text,
                )
                setattr(exc, name, text)
        if exc.args and isinstance(exc.args[0], str):
            exc.args = (exc.msg, *exc.args[1:])
        raise


@contextmanager
def _bar(description: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A byte progress bar; yields ``update(done, total)`` (total 0: unknown)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console(),
        transient=quiet,
        disable=quiet,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or None)

        yield update


@command.command("upload")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--folder",
    "folder_token",
    default=None,
    metavar="TOKEN",
    help="Folder token to upload into (default: the app's root folder).",
)
@click.option("--name", "file_name", default=None, help="File name in Drive (default: PATH's).")
@click.option(
    "--resume-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Save the upload's progress here; run the same command again to resume it "
    "(files over 20 MB, within 24 h).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the uploaded file as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@app_options
@user_errors
def upload(
    path: Path,
    folder_token: str | None,
    file_name: str | None,
    resume_file: Path | None,
    as_json: bool,
    quiet: bool,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Upload PATH into a Drive folder; prints the new file's token and URL."""
    with (
        _cli_words(),
        make_client(app_id, base_url) as client,
        _bar(f"uploading {path.name}", quiet) as bar,
    ):
        uploaded = client.drive.upload_file(
            path,
            folder_token=folder_token,
            file_name=file_name,
            progress=bar,
            resume_file=resume_file,
        )
    if as_json:
        print_json(_public(uploaded.model_dump()))
        return
    from ..cli._common import console

    console().print(
        f"[green]uploaded[/] {markup_safe(uploaded.name)} ({uploaded.size:,} bytes)\n"
        f"  token: {markup_safe(uploaded.token)}\n  url:   {markup_safe(uploaded.url or '')}",
        highlight=False,
        soft_wrap=True,
    )


@command.command("download")
@click.argument("token")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--media",
    is_flag=True,
    help="TOKEN is a document's media (an image or attachment), not a Drive file.",
)
@click.option("--overwrite", is_flag=True, help="Replace PATH if it exists.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@app_options
@user_errors
def download(
    token: str,
    path: Path,
    media: bool,
    overwrite: bool,
    quiet: bool,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Download the Drive file TOKEN to PATH (a file, or a directory to keep Feishu's name);
    streamed to disk, the file appears only once complete."""
    with (
        _cli_words(),
        make_client(app_id, base_url) as client,
        _bar(f"downloading {token}", quiet) as bar,
    ):
        fetch = client.drive.download_doc_media if media else client.drive.download_file
        saved = fetch(token, path, overwrite=overwrite, progress=bar)
    click.echo(str(saved))


def _public(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}
