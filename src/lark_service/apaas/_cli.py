"""``lark-service apaas ...``: aPaaS workspace tables as a user.

``tables WORKSPACE --user OPEN_ID``, ``query WORKSPACE TABLE --user OPEN_ID [--filter F]
[--select a,b] [--order age.desc] [--limit N]`` (JSON lines), ``sql WORKSPACE "SELECT ..."
--user OPEN_ID``.
"""

from __future__ import annotations

import json

import click

from ..cli._common import app_options, console, make_client, print_json, user_errors

__all__ = ["command"]

_USER = click.option(
    "--user", "user", required=True, help="The open_id to act as (must have authorized the app)."
)


@click.group("apaas")
def command() -> None:
    """aPaaS workspace tables, records and SQL (as a user)."""


@command.command("tables")
@click.argument("workspace")
@_USER
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@app_options
@user_errors
def tables(
    workspace: str, user: str, as_json: bool, app_id: str | None, base_url: str | None
) -> None:
    """List WORKSPACE's tables and their columns."""
    with make_client(app_id, base_url) as client:
        found = client.as_user(user).apaas.list_workspace_tables(workspace).to_list()
    if as_json:
        print_json([t.model_dump() for t in found])
        return
    out = console()
    for table in found:
        columns = ", ".join(f"{c.name}:{c.data_type}" for c in table.columns)
        out.print(f"[bold]{table.name}[/bold]  {columns}", highlight=False)


@command.command("query")
@click.argument("workspace")
@click.argument("table")
@_USER
@click.option("--filter", "filter_", default=None, help="PostgREST filter, e.g. 'age=gt.10'.")
@click.option("--select", default=None, help="Columns, e.g. 'name,age'.")
@click.option("--order", default=None, help="Order, e.g. 'age.desc,name'.")
@click.option("--limit", type=int, default=None, help="Stop after this many records.")
@app_options
@user_errors
def query(
    workspace: str,
    table: str,
    user: str,
    filter_: str | None,
    select: str | None,
    order: str | None,
    limit: int | None,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Print TABLE's records as JSON lines."""
    with make_client(app_id, base_url) as client:
        pager = client.as_user(user).apaas.query_table_records(
            workspace, table, filter=filter_, select=select, order=order
        )
        rows = pager.first(limit) if limit else pager.to_list()
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False, default=str))


@command.command("sql")
@click.argument("workspace")
@click.argument("statement")
@_USER
@app_options
@user_errors
def sql(
    workspace: str, statement: str, user: str, app_id: str | None, base_url: str | None
) -> None:
    """Run STATEMENT in WORKSPACE and print the result as JSON."""
    with make_client(app_id, base_url) as client:
        result = client.as_user(user).apaas.run_sql(workspace, statement)
    print_json(result)
