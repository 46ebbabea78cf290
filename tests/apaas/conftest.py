"""Fixtures for aPaaS tests: the emulator with a workspace (people, orders), alice authorized
through the real consent flow, and ``apaas`` = ``client.as_user(alice).apaas``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lark_service import LarkClient
from lark_service.testing import FAST_RETRY, Emulator
from lark_service.testing.emulator.apaas_state import ApaasDomain, apaas

from ..auth.conftest import consent

APP_ID = "cli_apaastest"
SECRET = "apaas-test-secret"
WS = "ws_demo"
REDIRECT = "http://127.0.0.1:9/oauth/callback"

PEOPLE: list[dict[str, Any]] = [
    {"name": "Ann", "age": 34, "city": "Paris", "tags": ["a"]},
    {"name": "Bob", "age": 9, "city": "Oslo", "tags": []},
    {"name": "Cid", "age": 51, "city": "Rome", "tags": ["b", "c"]},
    {"name": "Dee", "age": 27, "city": None, "tags": []},
]


def seed(domain: ApaasDomain, **kw: Any) -> None:
    domain.add_workspace(
        WS,
        [
            {
                "name": "people",
                "description": "People",
                "columns": [
                    {"name": "name", "data_type": "text", "is_unique": True},
                    {"name": "age", "data_type": "integer"},
                    {"name": "city", "data_type": "text"},
                    {"name": "tags", "data_type": "text", "is_array": True},
                ],
                "records": [dict(p) for p in PEOPLE],
            },
            {"name": "orders", "columns": [{"name": "total", "data_type": "float"}]},
        ],
        **kw,
    )


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    lark_emulator.add_app(APP_ID, SECRET)
    lark_emulator.add_user("alice", name="Alice")
    seed(apaas(lark_emulator.state))
    return lark_emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[LarkClient]:
    with LarkClient(APP_ID, SECRET, base_url=emu.url, retry=FAST_RETRY) as c:
        url = c.auth.authorization_url(
            emu.open_id("alice", APP_ID), ["apaas:workspace"], redirect_uri=REDIRECT
        )
        answer = consent(url)
        c.auth.complete_authorization(answer["code"], answer["state"])
        yield c


@pytest.fixture
def user(emu: Emulator) -> str:
    return emu.open_id("alice", APP_ID)


@pytest.fixture
def api(client: LarkClient, user: str) -> Any:
    return client.as_user(user).apaas
