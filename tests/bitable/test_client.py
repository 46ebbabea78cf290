"""client.bitable against the emulator: records, queries, batch writes (sync and async)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from lark_service import errors
from lark_service.bitable import F, FieldType, Link, Url, User
from lark_service.testing import Emulator
from lark_service.testing.emulator.bitable_state import BitableState

from .conftest import APP_ID, BASE, writes

WHEN = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)


def test_tables_and_schema(lark: Any, table: str) -> None:
    tables = list(lark.bitable.list_tables(BASE))
    assert [(t.table_id, t.name) for t in tables] == [(table, "Tasks")]
    schema = lark.bitable.list_fields(BASE, table)
    assert schema["Score"].field_type is FieldType.NUMBER
    assert schema["Status"].options == ["Open", "Closed"]
    assert schema.primary is not None and schema.primary.field_name == "Name"


def test_record_round_trip_typed(lark: Any, emu: Emulator, table: str) -> None:
    alice = emu.open_id("alice", APP_ID)
    schema = lark.bitable.list_fields(BASE, table)
    created = lark.bitable.create_record(
        BASE,
        table,
        {
            "Name": "Deploy",
            "Score": "88",  # typed by the schema
            "Status": "Open",
            "Tags": "infra;urgent",
            "Due": WHEN,
            "Done": False,
            "Owner": User(alice),
            "Phone": "+8613800000000",
            "Site": Url("https://example.com", "home"),
        },
        schema=schema,
    )
    got = lark.bitable.get_record(BASE, table, created.record_id, schema=schema)
    assert got["Name"] == "Deploy" and got["Score"] == 88
    assert got["Tags"] == ["infra", "urgent"]
    assert got["Due"] == WHEN and got["Done"] is False
    assert got["Owner"] == [User(alice, name="Alice", en_name="Alice", email="alice@example.com")]
    assert got["Site"] == Url("https://example.com", "home")

    second = lark.bitable.create_record(
        BASE, table, {"Name": "Child", "Parent": Link((created.record_id,))}
    )
    found = list(
        lark.bitable.query_records(BASE, table, filter=F("Name") == "Child", schema=schema)
    )
    assert found[0]["Parent"] == Link((created.record_id,))

    updated = lark.bitable.update_record(BASE, table, second.record_id, {"Score": 5})
    assert updated.fields["Score"] == 5
    assert lark.bitable.delete_record(BASE, table, second.record_id) is True
    with pytest.raises(errors.NotFoundError):
        lark.bitable.get_record(BASE, table, second.record_id)


def test_value_refused_locally_before_any_request(lark: Any, emu: Emulator, table: str) -> None:
    schema = lark.bitable.list_fields(BASE, table)
    before = len(writes(emu))
    with pytest.raises(errors.ValidationError, match="Score"):
        lark.bitable.create_record(BASE, table, {"Score": "lots"}, schema=schema)
    assert len(writes(emu)) == before


def test_feishu_conversion_code_is_typed(lark: Any, table: str) -> None:
    with pytest.raises(errors.InvalidParameterError) as info:
        lark.bitable.create_record(BASE, table, {"Score": "not a number"})  # no schema: sent
    assert info.value.code == 1254061


def test_query_filter_sort_and_pages(lark: Any, emu: Emulator, table: str) -> None:
    rows = [
        {"Name": f"t{i:03d}", "Score": i, "Status": "Open" if i % 2 else "Closed"}
        for i in range(1, 1201)
    ]
    result = lark.bitable.batch_create_records(BASE, table, rows)
    assert result.ok and result.calls == 3 and len(set(result.record_ids)) == 1200

    before = len(emu.requests())
    found = list(
        lark.bitable.query_records(
            BASE,
            table,
            filter=(F("Status") == "Open") & (F("Score") > 100),
            sort="-Score",
            field_names=["Name", "Score"],
        )
    )
    searches = [r for r in emu.requests()[before:] if r.path.endswith("/search")]
    assert len(searches) == 2  # 550 matches at 500 a page
    assert [r["Score"] for r in found[:3]] == [1199, 1197, 1195]
    assert len(found) == 550 and set(found[0].values) == {"Name", "Score"}

    either = list(
        lark.bitable.query_records(
            BASE, table, filter=(F("Score") <= 2) | (F("Name") == "t010"), sort="Score"
        )
    )
    assert [r["Name"] for r in either] == ["t001", "t002", "t010"]
    empty = list(lark.bitable.query_records(BASE, table, filter=F("Status").is_empty()))
    assert empty == []


def test_filter_checked_against_schema_before_any_request(client: Any, table: str) -> None:
    schema = client.bitable.list_fields(BASE, table)
    with pytest.raises(errors.ValidationError, match="no field 'Stauts'"):
        client.bitable.query_records(BASE, table, filter=F("Stauts") == "Open", schema=schema)
    with pytest.raises(errors.ValidationError, match="sort"):
        client.bitable.query_records(BASE, table, sort="Nope", schema=schema)


def test_pager_is_lazy(client: Any, emu: Emulator, table: str) -> None:
    client.bitable.batch_create_records(BASE, table, [{"Name": str(i)} for i in range(30)])
    before = len(emu.requests())
    pager = client.bitable.query_records(BASE, table, page_size=10)
    assert len(emu.requests()) == before
    assert len(pager.first(15)) == 15
    assert len([r for r in emu.requests()[before:] if r.path.endswith("/search")]) == 2


def test_batch_accepts_feishu_shapes_and_reports_per_record(
    lark: Any, base: BitableState, table: str
) -> None:
    created = lark.bitable.batch_create_records(
        BASE,
        table,
        [{"fields": {"Name": "a"}}, {"Name": "b"}, {"Score": "bad"}, "nope"],
        schema=True,  # fetched once: "bad" is refused locally, not sent
    )
    assert [i.ok for i in created] == [True, True, False, False]
    assert created.calls == 1  # bad entries are not sent; Feishu's shape and plain dicts are
    # the failed entry of a sent chunk: the whole chunk fails with Feishu's code
    failed = lark.bitable.batch_create_records(BASE, table, [{"Name": "c"}, {"Score": "x"}])
    assert not failed.ok and {i.error.code for i in failed.failed} == {1254061}  # type: ignore[union-attr]

    a_id, b_id = created.record_ids[:2]
    assert a_id and b_id
    updated = lark.bitable.batch_update_records(
        BASE, table, [{"record_id": a_id, "fields": {"Score": 1}}, (b_id, {"Score": 2})]
    )
    assert updated.ok
    assert {r["fields"].get("Score") for r in base.records(BASE, table)} == {1, 2}
    deleted = lark.bitable.batch_delete_records(BASE, table, [a_id, b_id])
    assert deleted.ok and base.records(BASE, table) == []


def test_chunks_of_500_each_with_its_own_client_token(
    client: Any, emu: Emulator, table: str
) -> None:
    progress: list[tuple[int, int]] = []
    result = client.bitable.batch_create_records(
        BASE,
        table,
        [{"Name": str(i)} for i in range(1234)],
        progress=lambda items, done, total: progress.append((done, total)),
    )
    assert result.ok and len(result) == 1234
    calls = [r for r in writes(emu) if r.path.endswith("/batch_create")]
    assert len(calls) == 3
    tokens = [r.query["client_token"] for r in calls]
    assert len(set(tokens)) == 3
    assert progress == [(500, 1234), (1000, 1234), (1234, 1234)]


def test_lost_answer_is_retried_with_the_same_token_no_duplicates(
    client: Any, emu: Emulator, base: BitableState, table: str
) -> None:
    base.lose_answers = 2  # the first two writes are applied but answered as timed out
    result = client.bitable.batch_create_records(
        BASE, table, [{"Name": str(i)} for i in range(700)]
    )
    assert result.ok
    assert len(base.records(BASE, table)) == 700  # not 1900
    calls = [r for r in writes(emu) if r.path.endswith("/batch_create")]
    assert len(calls) == 4
    assert calls[0].query["client_token"] == calls[1].query["client_token"]


def test_over_500_refused_by_the_emulator(emu: Emulator, base: BitableState, table: str) -> None:
    import httpx

    with httpx.Client(base_url=emu.url) as http:
        answer = http.post(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json={"app_id": APP_ID, "app_secret": "bitable-secret"},
        ).json()
        headers = {"Authorization": "Bearer " + answer["tenant_access_token"]}
        body = {"records": [{"fields": {"Name": "x"}}] * 501}
        reply = http.post(
            f"/open-apis/bitable/v1/apps/{BASE}/tables/{table}/records/batch_create",
            json=body,
            headers=headers,
        ).json()
    assert reply["code"] == 1254104
    assert base.records(BASE, table) == []


def test_unknown_table_is_not_found(client: Any, base: BitableState) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        client.bitable.list_fields(BASE, "tblMissing")
    assert info.value.code == 1254041
    result = client.bitable.batch_create_records(BASE, "tblMissing", [{"Name": "x"}])
    assert not result.ok and isinstance(result.failed[0].error, errors.NotFoundError)
    with pytest.raises(errors.ValidationError):
        client.bitable.get_record(BASE, "../x", "rec1")
