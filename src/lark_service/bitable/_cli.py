"""``lark-service bitable query|import|export``: Bitable records from the command line.

::

    lark-service bitable query bascnXXX tblYYY --filter "Status = Open" --filter "Score > 80"
    lark-service bitable query bascnXXX tblYYY --sort -Score --csv > open.csv
    lark-service bitable import bascnXXX tblYYY rows.csv
    lark-service bitable export bascnXXX tblYYY all.csv --filter "Owner is not empty"
"""

from __future__ import annotations

import sys
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

__all__ = ["command"]

_FILTER_HELP = (
    "A condition: 'FIELD = VALUE', '!=', '>', '>=', '<', '<=', '~' (contains), '!~', "
    "'FIELD is empty', 'FIELD is not empty'. Repeat for more (all must hold, or any with --any)."
)
_MAX_SHOWN = 20


@click.group("bitable")
def command() -> None:
    """Bitable (Base) records: query, import a CSV file, export to CSV."""


def _filter(conditions: tuple[str, ...], any_of: bool) -> Any:
    from .filter import Group, parse_condition

    if not conditions:
        return None
    parsed = [parse_condition(text) for text in conditions]
    return Group.of("or" if any_of else "and", *parsed)


def _progress(*, total: int | None, transient: bool = False) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns: list[Any] = [TextColumn("[progress.description]{task.description}")]
    if total is not None:
        columns += [
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"),
        ]
    else:
        columns += [TextColumn("{task.completed} records")]
    columns.append(TimeElapsedColumn())
    return Progress(*columns, console=err_console(), transient=transient)


@command.command("query")
@click.argument("app_token")
@click.argument("table_id")
@click.option("--filter", "conditions", multiple=True, help=_FILTER_HELP)
@click.option("--any", "any_of", is_flag=True, help="Match records meeting any --filter.")
@click.option("--sort", "sort", multiple=True, help="Field to sort by; '-Field' descending.")
@click.option("--field", "fields", multiple=True, help="Only these fields (repeat).")
@click.option("--view", "view_id", default=None, help="Only records of this view (view_id).")
@click.option("--limit", type=click.IntRange(1), default=None, help="At most this many records.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (a header line, then records).")
@click.option("--json", "as_json", is_flag=True, help="Print the records as JSON.")
@app_options
@user_errors
def query(
    app_token: str,
    table_id: str,
    conditions: tuple[str, ...],
    any_of: bool,
    sort: tuple[str, ...],
    fields: tuple[str, ...],
    view_id: str | None,
    limit: int | None,
    as_csv: bool,
    as_json: bool,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Records of table TABLE_ID in base APP_TOKEN matching every --filter."""
    if as_csv and as_json:
        raise click.UsageError("give --csv or --json, not both")
    from .fields import to_text

    with make_client(app_id, base_url) as client:
        schema = client.bitable.list_fields(app_token, table_id)
        pager = client.bitable.query_records(
            app_token,
            table_id,
            filter=_filter(conditions, any_of),
            sort=list(sort) or None,
            field_names=list(fields) or None,
            view_id=view_id,
            schema=schema,
        )
        records = pager.first(limit) if limit is not None else pager.to_list()
    columns = list(fields) or schema.names
    if as_csv:
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(["record_id", *columns])
        for record in records:
            writer.writerow([record.record_id, *(to_text(record.get(c)) for c in columns)])
        return
    if as_json:
        print_json(
            [
                {
                    "record_id": r.record_id,
                    **{c: _json_value(r.get(c)) for c in columns if c in r.values},
                }
                for r in records
            ]
        )
        return
    from rich.table import Table

    table = Table(title=f"{len(records)} record(s)")
    table.add_column("record_id")
    for name in columns:
        table.add_column(markup_safe(name))
    for record in records:
        table.add_row(record.record_id, *(markup_safe(to_text(record.get(c))) for c in columns))
    console().print(table)


@command.command("import")
@click.argument("app_token")
@click.argument("table_id")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@app_options
@user_errors
def import_(
    app_token: str, table_id: str, file: Path, app_id: str | None, base_url: str | None
) -> None:
    """Create one record per row of FILE (CSV with a header line naming the fields), 500
    records per call, each cell typed by the field's type."""
    from .tabular import read_csv

    rows = read_csv(file)
    if not rows:
        raise click.UsageError(f"{file} has no rows below its header line")
    with make_client(app_id, base_url) as client, _progress(total=len(rows)) as progress:
        task = progress.add_task("importing", total=len(rows), failed=0)
        failed = [0]

        def on_progress(items: list[Any], done: int, total: int) -> None:
            failed[0] += sum(1 for i in items if not i.ok)
            progress.update(task, completed=done, failed=failed[0])

        result = client.bitable.import_csv(app_token, table_id, file, progress=on_progress)
        failed[0] = len(result.failed)
        progress.update(task, completed=len(rows), failed=failed[0])
    _summary(result, file)
    if not result.ok:
        raise SystemExit(1)


def _summary(result: Any, file: Path) -> None:
    out = console()
    out.print(
        f"{len(result.succeeded)} record(s) created, {len(result.failed)} failed "
        f"({result.calls} write call(s))"
    )
    if not result.failed:
        return
    from rich.table import Table

    table = Table(title=f"failed rows of {markup_safe(file.name)}")
    table.add_column("line")
    table.add_column("error")
    for item in result.failed[:_MAX_SHOWN]:
        error = item.error
        code = f" (code {error.code})" if getattr(error, "code", None) else ""
        # line numbers of the file: the header is line 1
        table.add_row(
            str(item.index + 2), markup_safe(f"{type(error).__name__}: {error.msg}{code}")
        )
    out.print(table)
    if len(result.failed) > _MAX_SHOWN:
        out.print(f"... and {len(result.failed) - _MAX_SHOWN} more")


@command.command("export")
@click.argument("app_token")
@click.argument("table_id")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--filter", "conditions", multiple=True, help=_FILTER_HELP)
@click.option("--any", "any_of", is_flag=True, help="Match records meeting any --filter.")
@click.option("--sort", "sort", multiple=True, help="Field to sort by; '-Field' descending.")
@click.option("--field", "fields", multiple=True, help="Only these fields (repeat).")
@click.option("--with-id", is_flag=True, help="Add a record_id column first.")
@app_options
@user_errors
def export(
    app_token: str,
    table_id: str,
    file: Path,
    conditions: tuple[str, ...],
    any_of: bool,
    sort: tuple[str, ...],
    fields: tuple[str, ...],
    with_id: bool,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Write the records of TABLE_ID matching every --filter to FILE (CSV), page by page."""
    with make_client(app_id, base_url) as client, _progress(total=None) as progress:
        task = progress.add_task("exporting", total=None)
        count = client.bitable.export_csv(
            app_token,
            table_id,
            file,
            filter=_filter(conditions, any_of),
            sort=list(sort) or None,
            field_names=list(fields) or None,
            with_id=with_id,
            progress=lambda done: progress.update(task, completed=done),
        )
    console().print(f"{count} record(s) written to {markup_safe(file)}")


def _json_value(value: object) -> object:
    """A field value for ``--json``: numbers, booleans and lists as JSON has them; dates,
    people, links and attachments as their text."""
    from .fields import to_text

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    return to_text(value)
