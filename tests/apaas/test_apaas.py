"""client.apaas against the emulator: tables, records with PostgREST filters, writes and
their errors, SQL, functions and flows."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from lark_service import LarkClient, errors
from lark_service.apaas import C, render
from lark_service.testing import Emulator
from lark_service.testing.emulator.apaas_state import apaas, parse_filter

from .conftest import PEOPLE, WS, seed


def test_filter_builder_renders_postgrest() -> None:
    assert render((C("age") > 10) & (C("name") == "Bob")) == "age=gt.10&name=eq.Bob"
    assert render((C("age") >= 10) | C("name").in_(["Bob", "Ann"])) == (
        "or=(age.gte.10,name.in.(Bob,Ann))"
    )
    assert render(~(C("status") == "done")) == "status=not.eq.done"
    assert render(C("city") == None) == "city=is.null"  # noqa: E711
    assert render(C("t") == "a, b") == 't=eq."a, b"'
    assert render(C("ok") == True) == "ok=eq.true"  # noqa: E712
    assert render(((C("a") == 1) & (C("b") < 2)) | ~(C("c") == 3)) == (
        "or=(and(a.eq.1,b.lt.2),c.not.eq.3)"
    )
    with pytest.raises(errors.ValidationError):
        C("bad name")
    with pytest.raises(errors.ValidationError):
        render(C("x") == object())
    with pytest.raises(errors.ValidationError):
        C("x").in_([])


def test_rendered_filters_select_what_python_selects() -> None:
    rng = random.Random(7)
    rows = [
        {"age": rng.randint(0, 60), "name": rng.choice(["Ann", "Bob", "a b"])} for _ in range(40)
    ]
    cases = [
        (C("age") > 30, lambda r: r["age"] > 30),
        ((C("age") <= 20) | (C("name") == "a b"), lambda r: r["age"] <= 20 or r["name"] == "a b"),
        (
            ~(C("name").in_(["Ann", "Bob"])) & (C("age") >= 5),
            lambda r: r["name"] not in ("Ann", "Bob") and r["age"] >= 5,
        ),
        (~((C("age") < 10) | (C("age") > 50)), lambda r: not (r["age"] < 10 or r["age"] > 50)),
        (C("name").like("A%"), lambda r: r["name"].startswith("A")),
    ]
    for built, expected in cases:
        predicate = parse_filter(render(built))
        assert [r for r in rows if predicate(r)] == [r for r in rows if expected(r)], render(built)


def test_tables_with_columns_paged(api: Any) -> None:
    tables = api.list_workspace_tables(WS, page_size=1).to_list()
    assert [t.name for t in tables] == ["orders", "people"]
    people = api.get_table(WS, "people")
    assert [c.name for c in people.columns] == ["name", "age", "city", "tags"]
    assert people.columns[0].is_unique and people.columns[3].is_array


def test_unknown_table_lists_the_tables(api: Any) -> None:
    with pytest.raises(errors.NotFoundError, match="its tables: orders, people"):
        api.get_table(WS, "peple")
    with pytest.raises(errors.NotFoundError, match="its tables: orders, people"):
        api.query_table_records(WS, "peple").to_list()
    with pytest.raises(errors.NotFoundError, match="workspace ws_nope"):
        api.get_table("ws_nope", "people")


def test_query_filter_select_order_and_lazy_paging(api: Any, emu: Emulator) -> None:
    pager = api.query_table_records(
        WS, "people", filter=C("age") > 10, select=["name", "age"], order="age.desc", page_size=1
    )
    before = len(emu.requests())
    assert len(emu.requests()) == before  # nothing sent until iterated
    rows = pager.to_list()
    assert rows == [
        {"name": "Cid", "age": 51},
        {"name": "Ann", "age": 34},
        {"name": "Dee", "age": 27},
    ]
    pages = api.query_table_records(WS, "people", page_size=3).pages()
    assert [len(p) for p in pages] == [3, 1]
    assert (
        api.query_table_records(WS, "people", filter="city=is.null").to_list()[0]["name"] == "Dee"
    )


def test_json_values_round_trip(api: Any) -> None:
    ids = api.insert_table_records(
        WS, "people", [{"name": "Eve", "age": 40, "tags": ["x", {"k": 1}]}]
    )
    assert len(ids) == 1
    row = api.query_table_records(WS, "people", filter=C("name") == "Eve").to_list()[0]
    assert row["tags"] == ["x", {"k": 1}] and row["_id"] is not None


def test_upsert_update_delete_batch(api: Any) -> None:
    api.upsert_table_records(WS, "people", [{"name": "Ann", "age": 35}], on_conflict="name")
    ann = api.query_table_records(WS, "people", filter=C("name") == "Ann").to_list()
    assert len(ann) == 1 and ann[0]["age"] == 35 and ann[0]["city"] == "Paris"
    api.update_table_record(WS, "people", ann[0]["_id"], {"city": "Lyon"})
    ids = api.update_table_records(WS, "people", {"city": "Kid"}, filter=C("age") < 10)
    assert len(ids) == 1
    rows = {r["name"]: r for r in api.query_table_records(WS, "people").to_list()}
    assert rows["Ann"]["city"] == "Lyon" and rows["Bob"]["city"] == "Kid"
    api.batch_update(
        WS,
        "people",
        [{"_id": rows["Cid"]["_id"], "age": 52}, {"_id": rows["Dee"]["_id"], "age": 28}],
    )
    api.delete_table_record(WS, "people", rows["Bob"]["_id"])
    api.delete_table_records(WS, "people", filter=C("age") > 50)
    left = sorted((r["name"], r["age"]) for r in api.query_table_records(WS, "people").to_list())
    assert left == [("Ann", 35), ("Dee", 28)]
    with pytest.raises(errors.NotFoundError):
        api.update_table_record(WS, "people", "999999", {"age": 1})


def test_duplicate_key_and_concurrent_write_are_conflicts(api: Any, emu: Emulator) -> None:
    with pytest.raises(errors.ConflictError) as caught:
        api.insert_table_records(WS, "people", {"name": "Ann"})
    assert "re-read" in (caught.value.hint or "")
    apaas(emu.state).workspaces[WS].conflicts = 1
    with pytest.raises(errors.ConflictError, match="conflict") as caught:
        api.update_table_records(WS, "people", {"age": 1}, filter=C("name") == "Bob")
    assert "retry" in (caught.value.hint or "")
    assert api.update_table_records(WS, "people", {"age": 1}, filter=C("name") == "Bob")


def test_quota(api: Any, emu: Emulator) -> None:
    seed(apaas(emu.state), max_records=5)
    api.insert_table_records(WS, "people", {"name": "Eve"})
    with pytest.raises(errors.QuotaExceededError, match="quota"):
        api.insert_table_records(WS, "people", {"name": "Fay"})


def test_missing_user_scopes(api: Any, emu: Emulator) -> None:
    seed(apaas(emu.state), required_scopes=["apaas:workspace", "apaas:table:write"])
    with pytest.raises(errors.PermissionDeniedError) as caught:
        api.query_table_records(WS, "people").to_list()
    assert caught.value.missing_scopes == ["apaas:table:write"]


def test_workspace_calls_need_a_user(client: LarkClient, emu: Emulator) -> None:
    before = len(emu.requests())
    with pytest.raises(errors.ValidationError, match="as_user"):
        client.apaas.get_table(WS, "people")
    with pytest.raises(errors.ValidationError):
        client.as_user("ou_x").apaas.query_table_records(WS, "people", page_size=0)
    assert len(emu.requests()) == before


def test_run_sql(api: Any) -> None:
    rows = api.run_sql(WS, "SELECT name FROM people WHERE age > 30 ORDER BY name")
    assert rows == [{"name": "Ann"}, {"name": "Cid"}]


def test_invoke_ai_capability(client: LarkClient, emu: Emulator) -> None:
    apaas(emu.state).set_function("app_ns", "summarize", result={"summary": "ok"})
    assert client.apaas.invoke_ai_capability("app_ns", "summarize", {"text": "x"}) == {
        "summary": "ok"
    }
    apaas(emu.state).set_function("app_ns", "echo")
    assert client.apaas.invoke_ai_capability("app_ns", "echo", {"a": [1]}) == {"echo": {"a": [1]}}
    with pytest.raises(errors.NotFoundError):
        client.apaas.invoke_ai_capability("app_ns", "nope", {})


def test_invoke_ai_capability_timeout(client: LarkClient, emu: Emulator) -> None:
    apaas(emu.state).set_function("app_ns", "slow", latency=3.0)
    with pytest.raises(errors.TimeoutError) as caught:
        client.apaas.invoke_ai_capability("app_ns", "slow", {}, timeout=0.3)
    assert isinstance(caught.value, TimeoutError)
    with pytest.raises(errors.ValidationError):
        client.apaas.invoke_ai_capability("app_ns", "slow", {}, timeout=0)


def test_flows_and_their_status(client: LarkClient, emu: Emulator) -> None:
    apaas(emu.state).set_flow("app_ns", "approve", out_params={"ok": True}, status="running")
    first = client.apaas.trigger_workflow("app_ns", "approve", {"amount": 5}, idempotency_key="k1")
    again = client.apaas.trigger_workflow("app_ns", "approve", {"amount": 5}, idempotency_key="k1")
    assert first.execution_id and again.execution_id == first.execution_id
    assert first.out_params == {"ok": True}
    assert client.apaas.get_workflow_status(first).status == "running"
    httpx.post(
        f"{emu.url}/_emulator/apaas/executions/{first.execution_id}", json={"status": "completed"}
    )
    assert client.apaas.get_workflow_status(first.execution_id).status == "completed"
    with pytest.raises(errors.NotFoundError, match="user task"):
        client.apaas.get_workflow_status("123")


def test_people_fixture_is_unchanged() -> None:
    assert PEOPLE[0]["age"] == 34
