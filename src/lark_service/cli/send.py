"""``lark-service send ...``: send messages from the shell."""

from __future__ import annotations

import click

from ._common import app_options, console, make_client, print_json, user_errors

__all__ = ["send"]


@click.group()
def send() -> None:
    """Send a message as an app."""


@send.command("text")
@click.option(
    "--to", "receive_id", required=True, help="open_id, union_id, user_id, email or chat_id."
)
@click.option(
    "--type",
    "receive_id_type",
    type=click.Choice(["open_id", "union_id", "user_id", "email", "chat_id"]),
    default=None,
    help="Receiver id type (inferred from the id when omitted).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@app_options
@click.argument("text")
@user_errors
def send_text(
    receive_id: str,
    receive_id_type: str | None,
    as_json: bool,
    app_id: str | None,
    base_url: str | None,
    text: str,
) -> None:
    """Send TEXT to one receiver."""
    with make_client(app_id, base_url) as client:
        message = client.messaging.send_text_message(
            receive_id, text, receive_id_type=receive_id_type
        )
    if as_json:
        print_json(message.model_dump(mode="json"))
        return
    console().print(
        f"[green]sent[/] {message.message_id} to {receive_id} "
        f"(chat {message.chat_id}, request_id {message.request_id})",
        highlight=False,
    )
