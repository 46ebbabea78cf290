"""pytest plugin: the ``lark_emulator`` fixture.

Installed with lark-service (entry point ``pytest11: lark_service``), so any project that has
lark-service and its ``testing`` extra installed gets the fixtures without configuration::

    def test_alert(lark_emulator):
        lark_emulator.add_app("cli_test", "secret")
        ...

One emulator server runs per test session (started on first use, stopped at the end); its
state is reset before every test that asks for ``lark_emulator``, and lark-service's clients
start that test with no token the emulator issued before: the process-wide token cache is
emptied, and tokens the emulator issued are removed from the configured token store (a
token cached in an earlier test is unknown to the reset emulator). When ``LARK_HOME`` is not
set, the session uses a temporary one, so tests never write into the user's own home.
Importing this module does not import starlette or uvicorn: that happens only when the
fixture is first used.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from lark_service.testing.emulator.server import Emulator

__all__ = ["lark_emulator", "lark_emulator_session"]


@pytest.fixture(scope="session")
def lark_emulator_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """The session's emulator server, started once; its state is *not* reset between tests."""
    from lark_service.testing.emulator.server import Emulator

    own_home = "LARK_HOME" not in os.environ
    if own_home:  # emulator tokens must not land in the user's own home
        os.environ["LARK_HOME"] = str(tmp_path_factory.mktemp("lark-home"))
    emulator = Emulator()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
        if own_home:
            os.environ.pop("LARK_HOME", None)


@pytest.fixture
def lark_emulator(lark_emulator_session: Emulator) -> Emulator:
    """A running emulator with empty state (no apps, users, chats, messages or faults), and
    clients that start with no token it issued before."""
    from lark_service.testing import reset_process_state

    issued = {(t.app_id, t.value) for t in lark_emulator_session.state.tokens()}
    lark_emulator_session.reset()
    reset_process_state()
    _forget_stored_tokens(issued)
    return lark_emulator_session


def _forget_stored_tokens(issued: set[tuple[str, str]]) -> None:
    """Remove the tokens the emulator issued (``(app_id, value)``) from the token store the
    current settings configure (the state database of ``LARK_HOME`` by default). Nothing is
    created: without a home or a configured key there is no such store."""
    if not issued:
        return
    from lark_service.config import get_settings
    from lark_service.credentials import SqlTokenStore, TokenKey, open_token_store

    try:
        store = open_token_store(get_settings(), create_home=False)
        if not isinstance(store, SqlTokenStore):
            return  # the process's memory store: emptied by reset_process_state()
        values = {value for _, value in issued}
        for app_id in sorted({app_id for app_id, _ in issued}):
            for record in store.records(app_id):
                if record.value in values:
                    key = TokenKey(record.app_id, record.fingerprint, record.kind, record.subject)  # type: ignore[arg-type]
                    store.delete(key, record.value)
    except Exception as exc:  # a fixture must not fail a test for the store's sake
        warnings.warn(
            f"lark_emulator: could not remove the emulator's tokens from the token store "
            f"({type(exc).__name__}: {exc}); a test may meet a token from an earlier one",
            stacklevel=2,
        )
