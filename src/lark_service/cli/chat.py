"""``lark-service chat ...``: find group chats."""

from __future__ import annotations

from typing import Any

import click

from ._common import app_options, console, make_client, markup_safe, print_json, user_errors

__all__ = ["chat"]


@click.group()
def chat() -> None:
    """Find the group chats the app's bot is in."""


@chat.command("find")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the chat as JSON.")
@app_options
@user_errors
def find(name: str, as_json: bool, app_id: str | None, base_url: str | None) -> None:
    """Show the chat called NAME (exact match preferred; an ambiguous name lists candidates)."""
    with make_client(app_id, base_url) as client:
        found = client.chats.get_chat_by_name(name)
    if as_json:
        print_json(found.model_dump(mode="json"))
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    rows: list[tuple[str, Any]] = [
        ("chat_id", found.chat_id),
        ("name", found.name),
        ("description", found.description),
        ("owner", f"{found.owner_id} ({found.owner_id_type})" if found.owner_id else None),
        ("members", found.member_count),
        ("status", found.chat_status),
    ]
    for key, value in rows:
        if value is not None and value != "":
            table.add_row(f"[bold]{key}[/]", markup_safe(value))
    console().print(table)


@chat.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the chats as JSON.")
@app_options
@user_errors
def list_(as_json: bool, app_id: str | None, base_url: str | None) -> None:
    """List every group the app's bot is in."""
    with make_client(app_id, base_url) as client:
        chats = list(client.chats.list_chats())  # a lazy pager: read it while the client is open
    if as_json:
        print_json([c.model_dump(mode="json") for c in chats])
        return
    from rich.table import Table

    table = Table("chat_id", "name", "description")
    for item in chats:
        table.add_row(
            markup_safe(item.chat_id),
            markup_safe(item.name or ""),
            markup_safe(item.description or ""),
        )
    console().print(table)


list_.name = "list"
