"""Fixtures for contact and chats tests: a state database per backend, the emulator with a
directory, a movable clock, and clients that share them.

``db_url`` is parametrized: every test that uses it (directly or through ``client``) runs on
SQLite and on PostgreSQL (an isolated schema, dropped afterwards). PostgreSQL is skipped when
unreachable, and fails under ``CI=true``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lark_service import LarkClient
from lark_service.config import Settings
from lark_service.testing import Emulator

APP = ("cli_contact_a", "secret-a")
OTHER_APP = ("cli_contact_b", "secret-b")


class FakeClock:
    """Epoch seconds that only move when told to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh state database: a SQLite file, or a new PostgreSQL schema."""
    from lark_service.storage import dispose_engine

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
        yield url
        dispose_engine(url)
        return
    yield request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    """The emulator with two apps, the demo people, and a small organisation:

    ``eng`` (Engineering) > ``be`` (Backend), ``ops`` (Operations); alice and dave in ``be``,
    bob in ``ops``, carol in the root; chats ``Ops Alerts`` (oc_demo) and ``Ops`` (oc_ops).
    """
    emu = lark_emulator
    emu.add_app(*APP, name="Contact A")
    emu.add_app(*OTHER_APP, name="Contact B")
    emu.add_department("eng", "Engineering", order=1)
    emu.add_department("be", "Backend", parent_department_id="eng", order=1)
    emu.add_department("ops", "Operations", order=2)
    emu.add_user(
        "alice",
        name="Alice",
        email="alice@example.com",
        mobile="+8613800000001",
        department_ids=["be"],
        en_name="Alice Liddell",
        job_title="Engineer",
        employee_no="E001",
    )
    emu.add_user(
        "bob",
        name="Bob",
        email="bob@example.com",
        mobile="+8613800000002",
        department_ids=["ops"],
    )
    emu.add_user("carol", name="Carol", email="carol@example.com")
    emu.add_user("dave", name="Dave", email="Dave@Example.com", department_ids=["be"])
    emu.add_chat(
        "oc_demo", "Ops Alerts", members=["alice", "bob"], owner_id="alice", description="alerts"
    )
    emu.add_chat("oc_ops", "Ops", members=["bob"], owner_id="bob")
    return emu


ClientFactory = Callable[..., LarkClient]


@pytest.fixture
def make_client(emu: Emulator, db_url: str, clock: FakeClock) -> Iterator[ClientFactory]:
    """``make_client(app=APP)``: a client of the emulator on ``db_url`` and ``clock``."""
    made: list[LarkClient] = []

    def make(app: tuple[str, str] = APP) -> LarkClient:
        client = LarkClient(
            app_id=app[0],
            app_secret=app[1],
            base_url=emu.url,
            settings=Settings(database_url=db_url),
            clock=clock,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: ClientFactory) -> LarkClient:
    return make_client()


def contact_calls(emu: Emulator, path: str = "/open-apis/contact/*") -> int:
    """How many contact API calls the emulator has received."""
    return len(emu.requests(path=path))
