"""pytest plugin: the ``lark_emulator`` fixture.

Installed with lark-service (entry point ``pytest11: lark_service``), so any project that has
lark-service and its ``testing`` extra installed gets the fixtures without configuration::

    def test_alert(lark_emulator):
        lark_emulator.add_app("cli_test", "secret")
        ...

One emulator server runs per test session (started on first use, stopped at the end); its
state is reset before every test that asks for ``lark_emulator``, and so is the process-wide
token cache of lark-service's clients (a token cached in an earlier test is unknown to the
reset emulator). Importing this module does not import starlette or uvicorn: that happens
only when the fixture is first used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from lark_service.testing.emulator.server import Emulator

__all__ = ["lark_emulator", "lark_emulator_session"]


@pytest.fixture(scope="session")
def lark_emulator_session() -> Iterator[Emulator]:
    """The session's emulator server, started once; its state is *not* reset between tests."""
    from lark_service.testing.emulator.server import Emulator

    emulator = Emulator()
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def lark_emulator(lark_emulator_session: Emulator) -> Emulator:
    """A running emulator with empty state (no apps, users, chats, messages or faults), and
    clients that start with no cached token."""
    from lark_service.testing import reset_process_state

    lark_emulator_session.reset()
    reset_process_state()
    return lark_emulator_session
