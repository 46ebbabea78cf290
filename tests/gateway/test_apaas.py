"""aPaaS through the gateway: workspace tables as an authorized user (the user's token from
the same store), functions, and flows started at most once per Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from lark_service import LarkClient
from lark_service.testing import FAST_RETRY, Emulator
from lark_service.testing.emulator.apaas_state import apaas

from ..apaas.conftest import REDIRECT, WS, seed
from ..auth.conftest import consent
from .conftest import APP_A, bearer

if TYPE_CHECKING:
    from starlette.testclient import TestClient


@pytest.fixture
def alice(emu: Emulator) -> str:
    """alice, who authorized APP_A (her user token is in the state database)."""
    seed(apaas(emu.state))
    user = emu.open_id("alice", APP_A[0])
    with LarkClient(APP_A[0], APP_A[1], base_url=emu.url, retry=FAST_RETRY) as client:
        url = client.auth.authorization_url(user, ["apaas:workspace"], redirect_uri=REDIRECT)
        answer = consent(url)
        client.auth.complete_authorization(answer["code"], answer["state"])
    return user


def test_workspace_tables_as_the_user(
    gateway: TestClient, alice: str, make_key: Callable[..., str]
) -> None:
    key = bearer(make_key(scopes=("apaas:read", "apaas:write")))
    tables = gateway.get(f"/apaas/workspaces/{WS}/tables?user={alice}", headers=key)
    assert tables.status_code == 200, tables.text
    assert {t["name"] for t in tables.json()["data"]} >= {"people", "orders"}
    found = gateway.post(
        f"/apaas/workspaces/{WS}/tables/people/records/query",
        json={"user": alice, "filter": "age=gte.30", "select": ["name", "age"]},
        headers=key,
    )
    assert found.status_code == 200, found.text
    assert sorted(r["name"] for r in found.json()["data"]) == ["Ann", "Cid"]
    nobody = gateway.get(f"/apaas/workspaces/{WS}/tables?user=ou_never_authorized", headers=key)
    assert nobody.status_code in (401, 403) and nobody.json()["error"]["type"].endswith("Error")


def test_functions_and_flows(
    gateway: TestClient, emu: Emulator, make_key: Callable[..., str]
) -> None:
    domain = apaas(emu.state)
    domain.set_function("app_ns", "summarise", result={"summary": "all green"})
    domain.set_flow("app_ns", "flow_1", out_params={"ok": True})
    key = bearer(make_key(scopes=("apaas:invoke",)))
    out = gateway.post(
        "/apaas/applications/app_ns/functions/summarise", json={"params": {"x": 1}}, headers=key
    )
    assert out.status_code == 200, out.text
    assert out.json()["data"] == {"summary": "all green"}
    headers = {**key, "Idempotency-Key": "flow-run-1"}
    first = gateway.post("/apaas/applications/app_ns/flows/flow_1", json={}, headers=headers)
    again = gateway.post("/apaas/applications/app_ns/flows/flow_1", json={}, headers=headers)
    assert first.status_code == 200, first.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert first.json()["data"]["execution_id"]
