"""``lark-service sheet get|put``: read a range to the terminal or a CSV file, and write a CSV
file into a range (in chunks of 5,000 rows, with a progress bar)."""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path
from typing import Any

import click

from ..cli._common import app_options, console, err_console, make_client, markup_safe, user_errors
from ..errors import ValidationError

__all__ = ["command"]

_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


@click.group("sheet")
def command() -> None:
    """Read and write spreadsheet ranges (Sheets)."""


@command.command("get")
@click.argument("token")
@click.argument("range_", metavar="RANGE")
@click.option("--csv", "as_csv", is_flag=True, help="Print the values as CSV.")
@click.option(
    "--render",
    type=click.Choice(["ToString", "FormattedValue", "Formula", "UnformattedValue"]),
    default=None,
    help="How Feishu renders values (default: its own).",
)
@click.option(
    "--formatted-dates", is_flag=True, help="Dates as the cells show them, not serial numbers."
)
@app_options
@user_errors
def get(
    token: str,
    range_: str,
    as_csv: bool,
    render: str | None,
    formatted_dates: bool,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Print the values of RANGE (<sheet>!A1:D10; the sheet by id or title) of the
    spreadsheet TOKEN."""
    with make_client(app_id, base_url) as client:
        result = client.sheets.get_sheet_data(
            token,
            range_,
            render=render,
            dates="formatted" if formatted_dates else "serial",
        )
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        for row in result.values:
            writer.writerow(["" if cell is None else _text(cell) for cell in row])
        return
    from rich.table import Table

    table = Table(title=markup_safe(result.range), show_header=False)
    width = max((len(row) for row in result.values), default=0)
    for _ in range(width):
        table.add_column()
    for row in result.values:
        table.add_row(*(markup_safe("" if cell is None else _text(cell)) for cell in row))
    console().print(table)


@command.command("put")
@click.argument("token")
@click.argument("range_", metavar="RANGE")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--raw", is_flag=True, help="Keep every cell as text (default: numbers become numbers)."
)
@app_options
@user_errors
def put(
    token: str,
    range_: str,
    file: Path,
    raw: bool,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Write the CSV FILE into RANGE of the spreadsheet TOKEN, starting at RANGE's top-left
    cell (<sheet>!A1 is enough: the file gives the size). Short rows are padded."""
    rows = _read_csv(file, raw)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with (
        make_client(app_id, base_url) as client,
        Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console(),
        ) as progress,
    ):
        task = progress.add_task("writing rows", total=len(rows))

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = client.sheets.update_sheet_data(token, range_, rows, progress=on_progress)
    console().print(
        "[green]wrote[/] "
        + markup_safe(
            f"{result.updated_rows} rows, {result.updated_cells} cells to "
            f"{result.updated_range} in {result.calls} call(s)"
        ),
        highlight=False,
    )


def _read_csv(path: Path, raw: bool) -> list[list[Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read the CSV file {str(path)!r}: {exc}") from None
    rows = [row for row in csv.reader(io.StringIO(text))]
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise ValidationError(f"the CSV file {str(path)!r} has no rows")
    width = max(len(row) for row in rows)
    return [[_cell(c, raw) for c in row] + [None] * (width - len(row)) for row in rows]


def _cell(text: str, raw: bool) -> Any:
    if text == "":
        return None
    if raw or not _NUMBER.fullmatch(text):
        return text
    return float(text) if "." in text else int(text)


def _text(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, (dict, list)):
        import json

        return json.dumps(cell, ensure_ascii=False)
    return str(cell)
