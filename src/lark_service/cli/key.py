"""``lark-service key rotate``: a new encryption key for every secret and token."""

from __future__ import annotations

import click

from ._common import console, markup_safe, user_errors

__all__ = ["key"]


@click.group()
def key() -> None:
    """Manage LARK_CONFIG_ENCRYPTION_KEY (encrypts app secrets and tokens).

    Not the gateway's API keys: those are `lark-service apikey`.
    """


@key.command("rotate")
@click.option(
    "--new-key",
    default=None,
    help="The new Fernet key (default: a freshly generated one).",
)
@click.option(
    "--keep-old/--drop-old",
    default=True,
    show_default=True,
    help="Keep the old key(s) after the new one, so processes still running with the old "
    "key can read what they write until they restart.",
)
@user_errors
def rotate(new_key: str | None, keep_old: bool) -> None:
    """Re-encrypt every app secret and token under a new first key.

    The key list is written to the dotenv file the key came from ($LARK_HOME/.env after
    `lark-service init`) before anything is re-encrypted, so an interrupted rotation leaves
    everything readable. A key set in the environment cannot be rewritten: the new value is
    printed for you to set.
    """
    from ..apps import AppRegistry
    from ..config import get_settings
    from ..credentials import SqlTokenStore
    from ..storage.crypto import SecretBox, generate_key
    from ..storage.rekey import reencrypt
    from .init import KEY_VARIABLE, key_source, write_env_value

    settings = get_settings()
    old_box = SecretBox.from_settings(settings)  # missing or malformed: stops here
    assert settings.config_encryption_key is not None
    old_keys = [k.strip() for k in settings.config_encryption_key.get_secret_value().split(",")]
    old_keys = [k for k in old_keys if k]
    fresh = (new_key or generate_key()).strip()
    SecretBox(fresh)  # a malformed --new-key stops here
    new_box = SecretBox([fresh, *[k for k in old_keys if k != fresh]])

    registry = AppRegistry(settings.resolved_config_db_url, old_box, max_age=0.0)
    registry.check_key()  # a wrong current key stops here, before anything is written

    source = key_source(settings.home)
    transitional = ",".join([fresh, *[k for k in old_keys if k != fresh]])
    if source is not None:
        write_env_value(source, KEY_VARIABLE, transitional)

    apps = registry.rotate_key(new_box)
    store = SqlTokenStore(settings.resolved_database_url, old_box, home=settings.home)
    tokens, dropped = store.rotate_key(new_box)
    reencrypt(settings.resolved_database_url, "state", new_box)  # any other encrypted state

    final = transitional if keep_old else fresh
    out = console()
    out.print(
        f"[green]rotated[/]: {apps} app(s) and {tokens} token(s) re-encrypted under the new key"
        + (f"; {dropped} unreadable token(s) deleted" if dropped else ""),
        highlight=False,
    )
    if source is not None:
        if final != transitional:
            write_env_value(source, KEY_VARIABLE, final)
        kept = " (old key kept after it)" if keep_old else ""
        out.print(f"{KEY_VARIABLE} updated in {markup_safe(source)}{kept}.", highlight=False)
        out.print("Restart running services so they read the new key.")
    else:
        out.print(
            f"{KEY_VARIABLE} comes from the environment: set it to the value below on every "
            "process, then restart them.",
            highlight=False,
        )
        click.echo(f"{KEY_VARIABLE}={final}")
