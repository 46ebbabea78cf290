"""``lark-service user ...``: look up people and warm the contact cache."""

from __future__ import annotations

from typing import Any

import click

from ._common import (
    app_options,
    console,
    err_console,
    make_client,
    markup_safe,
    print_json,
    user_errors,
)

__all__ = ["user"]

_ID_TYPES = ["email", "mobile", "open_id", "union_id", "user_id"]


@click.group()
def user() -> None:
    """Look up Feishu users (answers are cached per app for 24 h)."""


@user.command("lookup")
@click.argument("query")
@click.option(
    "--type",
    "id_type",
    type=click.Choice(_ID_TYPES),
    default=None,
    help="What QUERY is (inferred: '@' email, ou_ open_id, on_ union_id, +digits mobile).",
)
@click.option("--refresh", is_flag=True, help="Ask Feishu even when the cache has the answer.")
@click.option("--json", "as_json", is_flag=True, help="Print the user as JSON.")
@app_options
@user_errors
def lookup(
    query: str,
    id_type: str | None,
    refresh: bool,
    as_json: bool,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Show the user with EMAIL, MOBILE or ID (open_id, union_id, user_id) as the app sees them."""
    with make_client(app_id, base_url) as client:
        found = client.contact.resolve(query, id_type=id_type, refresh=refresh)
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    status = found.status
    state = "active" if found.is_active else "inactive"
    if status is not None and status.is_resigned:
        state = "resigned"
    rows: list[tuple[str, Any]] = [
        ("name", found.name),
        ("en_name", found.en_name),
        ("open_id", found.open_id),
        ("union_id", found.union_id),
        ("user_id", found.user_id),
        ("email", found.email),
        ("mobile", found.mobile),
        ("departments", ", ".join(found.department_ids)),
        ("job_title", found.job_title),
        ("employee_no", found.employee_no),
        ("status", state),
        ("source", "cache" if found.from_cache else f"Feishu (request_id {found.request_id})"),
    ]
    for name, value in rows:
        if value:
            table.add_row(f"[bold]{name}[/]", markup_safe(value))
    console().print(table)


@user.command("sync")
@click.option("--department", "department_id", required=True, help="Department id ('0': root).")
@click.option("--recursive", is_flag=True, help="Include every sub-department.")
@click.option(
    "--department-id-type",
    type=click.Choice(["open_department_id", "department_id"]),
    default=None,
    help="Type of the department id (inferred: 'od-...' open, else your own id).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@app_options
@user_errors
def sync(
    department_id: str,
    recursive: bool,
    department_id_type: str | None,
    as_json: bool,
    app_id: str | None,
    base_url: str | None,
) -> None:
    """Fetch every member of a department into the contact cache, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with make_client(app_id, base_url) as client:
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console(),
            transient=as_json,
        ) as progress:
            task = progress.add_task(markup_safe(f"department {department_id}"), total=None)

            def on_progress(done: int, total: int | None) -> None:
                progress.update(task, completed=done, total=total)

            users = client.contact.get_department_users(
                department_id,
                recursive=recursive,
                department_id_type=department_id_type,
                on_progress=on_progress,
            )
            progress.update(task, completed=len(users), total=len(users))
        app = client.resolve_app().app_id
    if as_json:
        print_json({"app_id": app, "department_id": department_id, "users": len(users)})
        return
    scope = " and its sub-departments" if recursive else ""
    console().print(
        "[green]cached[/] "
        + markup_safe(f"{len(users)} users of department {department_id}{scope} for app {app}"),
        highlight=False,
    )
