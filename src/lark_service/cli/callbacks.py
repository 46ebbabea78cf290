"""``lark-service callbacks``: the dead-letter queue, and simulated callbacks for testing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click

from ..errors import ValidationError
from ._common import print_json, user_errors

__all__ = ["callbacks"]


@click.group("callbacks")
def callbacks() -> None:
    """Inspect and replay failed callbacks; send a signed test callback to a server."""


@callbacks.group("dlq")
def dlq() -> None:
    """Callbacks whose handler failed every attempt, whose card update failed for good, or
    that no handler matched (no_handler)."""


def _source_options(fn: Any) -> Any:
    fn = click.option(
        "--source",
        type=click.Choice(["auto", "queue", "outbox"]),
        default="auto",
        show_default=True,
        help="The RabbitMQ DLQ (queue) or dead outbox rows of the in-process dispatcher; "
        "auto: the queue when an AMQP URL is set.",
    )(fn)
    fn = click.option("--amqp-url", envvar="LARK_AMQP_URL", default=None, help="RabbitMQ URL.")(fn)
    fn = click.option("--queue", envvar="LARK_AMQP_QUEUE", default="lark.callbacks")(fn)
    fn = click.option("--exchange", envvar="LARK_AMQP_EXCHANGE", default="lark.callbacks")(fn)
    fn = click.option("--database-url", envvar="LARK_DATABASE_URL", default=None)(fn)
    fn = click.option("--json", "as_json", is_flag=True, help="Print JSON.")(fn)
    return fn


def _use_queue(source: str, amqp_url: str | None) -> bool:
    if source == "queue" and not amqp_url:
        raise ValidationError(
            "--source queue needs --amqp-url (or LARK_AMQP_URL)", field="amqp_url"
        )
    return source == "queue" or (source == "auto" and bool(amqp_url))


def _store(database_url: str | None) -> Any:
    from ..callbacks.store import OutboxStore
    from ..config import get_settings

    return OutboxStore(database_url or get_settings().resolved_database_url)


def _topology(exchange: str, queue: str) -> Any:
    from ..callbacks.rabbitmq import RabbitTopology

    return RabbitTopology(exchange=exchange, queue=queue)


def _broker_error(exc: Exception) -> Exception:
    from ..errors import ConnectionError as BrokerUnreachable

    return BrokerUnreachable(
        f"RabbitMQ: {type(exc).__name__}",  # its text may hold the URL and password
        hint="Check --amqp-url / LARK_AMQP_URL, the queue name, and that the broker is running.",
    )


@dlq.command("list")
@_source_options
@click.option("--limit", default=100, show_default=True)
@click.option("--owner", default=None, help="Outbox: only the rows of this router (service) name.")
@user_errors
def dlq_list(
    source: str,
    amqp_url: str | None,
    queue: str,
    exchange: str,
    database_url: str | None,
    as_json: bool,
    limit: int,
    owner: str | None,
) -> None:
    """List dead and no_handler callbacks (left in place)."""
    if _use_queue(source, amqp_url):
        from ..callbacks.rabbitmq import dlq_list as list_queue

        assert amqp_url is not None
        try:
            items = asyncio.run(list_queue(amqp_url, _topology(exchange, queue), limit=limit))
        except Exception as exc:
            raise _broker_error(exc) from None
        ident = "message_id"
    else:
        from ..callbacks.store import DLQ_STATUSES

        rows = _store(database_url).items(DLQ_STATUSES, limit=limit, owner=owner)
        items = [i.to_dict() for i in rows]
        ident = "id"
    if as_json:
        print_json(items)
        return
    if not items:
        click.echo("the dead-letter queue is empty")
        return
    for item in items:
        status = f"  {item['status']}" if item.get("status") else ""
        owner_text = f"  owner={item['owner']}" if item.get("owner") else ""
        stage = "  stage=card_update" if item.get("stage") == "card_update" else ""
        click.echo(
            f"{item[ident]}{status}  {item.get('app_id')}  {item.get('event_type')}  "
            f"event={item.get('event_id')}  attempts={item.get('attempts')}{stage}{owner_text}  "
            f"error={item.get('error') or item.get('last_error')}"
        )
    click.echo(f"{len(items)} dead callback(s)")


@dlq.command("replay")
@_source_options
@click.option("--id", "ids", multiple=True, help="Only these (message ids / outbox ids).")
@user_errors
def dlq_replay(
    source: str,
    amqp_url: str | None,
    queue: str,
    exchange: str,
    database_url: str | None,
    as_json: bool,
    ids: tuple[str, ...],
) -> None:
    """Put dead and no_handler callbacks back to work with a fresh attempt count (a dead
    card update is tried again without running the handler)."""
    if _use_queue(source, amqp_url):
        from ..callbacks.rabbitmq import dlq_replay as replay_queue

        assert amqp_url is not None
        try:
            count = asyncio.run(
                replay_queue(amqp_url, _topology(exchange, queue), message_ids=list(ids) or None)
            )
        except Exception as exc:
            raise _broker_error(exc) from None
    else:
        try:
            numbers = [int(i) for i in ids] if ids else None
        except ValueError:
            raise ValidationError("outbox ids are numbers", field="id") from None
        count = _store(database_url).revive(numbers)
    if as_json:
        print_json({"replayed": count})
    else:
        click.echo(f"replayed {count} callback(s)")


@callbacks.command("simulate")
@click.option("--url", required=True, help="e.g. http://127.0.0.1:8000/callbacks/cli_a1/card")
@click.option("--app-id", envvar="LARK_APP_ID", required=True)
@click.option("--encrypt-key", envvar="LARK_ENCRYPT_KEY", default=None)
@click.option("--verification-token", envvar="LARK_VERIFICATION_TOKEN", default=None)
@click.option(
    "--type",
    "kind",
    type=click.Choice(["card", "legacy-card", "message", "url-verification"]),
    default="card",
    show_default=True,
)
@click.option("--value", default="{}", help="The card action's value (JSON object).")
@click.option("--text", default="hello", help="The message text (--type message).")
@click.option("--open-id", default="ou_simulated")
@click.option("--message-id", default="om_simulated", help="The card's message id.")
@click.option("--event-id", default=None, help="Fixed event id (to test dedup).")
@click.option("--timeout", default=10.0, show_default=True)
@user_errors
def simulate(
    url: str,
    app_id: str,
    encrypt_key: str | None,
    verification_token: str | None,
    kind: str,
    value: str,
    text: str,
    open_id: str,
    message_id: str,
    event_id: str | None,
    timeout: float,
) -> None:
    """Send a signed (and, with an encrypt key, encrypted) test callback to a running server."""
    import httpx

    from ..callbacks import simulate as sim

    try:
        parsed = json.loads(value)
    except ValueError:
        raise ValidationError("--value must be a JSON object", field="value") from None
    if not isinstance(parsed, dict):
        raise ValidationError("--value must be a JSON object", field="value")
    payload: dict[str, Any]
    # a made-up card token: the server does not send a returned card to Feishu for it
    card_token = sim.simulated_card_token()
    if kind == "card":
        payload = sim.card_action_payload(
            app_id,
            value=parsed,
            open_id=open_id,
            open_message_id=message_id,
            verification_token=verification_token,
            event_id=event_id,
            card_token=card_token,
        )
    elif kind == "legacy-card":
        payload = sim.legacy_card_payload(
            value=parsed, open_id=open_id, open_message_id=message_id, card_token=card_token
        )
    elif kind == "message":
        payload = sim.message_event_payload(
            app_id, text, open_id=open_id, verification_token=verification_token, event_id=event_id
        )
    else:
        payload = sim.url_verification_payload("simulated-challenge", verification_token)
    headers, body = sim.signed_request(
        payload,
        encrypt_key=encrypt_key,
        verification_token=verification_token,
        legacy=kind == "legacy-card",
    )
    try:
        response = httpx.post(url, headers=headers, content=body, timeout=timeout)
    except httpx.HTTPError as exc:
        from ..errors import ConnectionError as Unreachable

        raise Unreachable(f"cannot reach {url}: {type(exc).__name__}") from None
    click.echo(f"HTTP {response.status_code}")
    try:
        print_json(response.json())
    except ValueError:
        click.echo(response.text)
    if response.status_code != 200:
        raise SystemExit(1)
