"""Bitable v1: the official client (lark_oapi) against the emulator.

Every SDK endpoint the emulator serves (tables list/create, fields list, records create /
get / update / delete / list / search / batch_create / batch_update / batch_delete /
batch_get) must accept what the SDK sends and answer what its response models parse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lark_service.testing.emulator.bitable_state import BitableState, bitable_of
from lark_service.testing.emulator.server import Emulator

BASE = "bascnConformance"
FIELDS = {"Name": 1, "Score": 2, "Status": 3, "Tags": 4, "Due": 5, "Done": 7, "Owner": 11}


@pytest.fixture
def base(lark_emulator: Emulator) -> BitableState:
    state = bitable_of(lark_emulator)
    state.add_base(BASE, "Conformance")
    return state


@pytest.fixture
def table(base: BitableState) -> str:
    return base.add_table(BASE, "Tasks", FIELDS, options={"Status": ["Open", "Closed"]})


def _ok(response: Any) -> Any:
    assert response.success(), (response.code, response.msg)
    assert response.get_log_id()
    return response.data


def test_tables_and_fields(official: Callable[..., Any], base: BitableState, table: str) -> None:
    from lark_oapi.api.bitable.v1 import (
        CreateAppTableRequest,
        CreateAppTableRequestBody,
        ListAppTableFieldRequest,
        ListAppTableRequest,
        ReqTable,
    )

    client = official()
    created = _ok(
        client.bitable.v1.app_table.create(
            CreateAppTableRequest.builder()
            .app_token(BASE)
            .request_body(
                CreateAppTableRequestBody.builder()
                .table(ReqTable.builder().name("Second").build())
                .build()
            )
            .build()
        )
    )
    assert created.table_id and created.field_id_list

    listed = _ok(
        client.bitable.v1.app_table.list(
            ListAppTableRequest.builder().app_token(BASE).page_size(1).build()
        )
    )
    assert listed.items[0].table_id == table and listed.items[0].name == "Tasks"
    assert listed.has_more is True and listed.page_token and listed.total == 2

    fields = _ok(
        client.bitable.v1.app_table_field.list(
            ListAppTableFieldRequest.builder().app_token(BASE).table_id(table).build()
        )
    )
    by_name = {f.field_name: f for f in fields.items}
    assert by_name["Score"].type == 2 and by_name["Name"].is_primary is True
    assert [o.name for o in by_name["Status"].property.options] == ["Open", "Closed"]


def test_record_lifecycle(
    official: Callable[..., Any], lark_emulator: Emulator, base: BitableState, table: str
) -> None:
    from lark_oapi.api.bitable.v1 import (
        AppTableRecord,
        CreateAppTableRecordRequest,
        DeleteAppTableRecordRequest,
        GetAppTableRecordRequest,
        ListAppTableRecordRequest,
        UpdateAppTableRecordRequest,
    )

    client = official()
    fields = {"Name": "Deploy", "Score": 90, "Status": "Open", "Tags": ["a"], "Done": True}
    created = _ok(
        client.bitable.v1.app_table_record.create(
            CreateAppTableRecordRequest.builder()
            .app_token(BASE)
            .table_id(table)
            .client_token("9b5e1c1e-0000-4000-8000-000000000001")
            .user_id_type("open_id")
            .request_body(AppTableRecord.builder().fields(fields).build())
            .build()
        )
    )
    record_id = created.record.record_id
    assert record_id.startswith("rec") and created.record.fields["Score"] == 90

    got = _ok(
        client.bitable.v1.app_table_record.get(
            GetAppTableRecordRequest.builder()
            .app_token(BASE)
            .table_id(table)
            .record_id(record_id)
            .build()
        )
    )
    assert got.record.fields["Name"] == "Deploy"

    updated = _ok(
        client.bitable.v1.app_table_record.update(
            UpdateAppTableRecordRequest.builder()
            .app_token(BASE)
            .table_id(table)
            .record_id(record_id)
            .request_body(AppTableRecord.builder().fields({"Score": 95}).build())
            .build()
        )
    )
    assert updated.record.fields["Score"] == 95 and updated.record.fields["Name"] == "Deploy"

    listed = _ok(
        client.bitable.v1.app_table_record.list(
            ListAppTableRecordRequest.builder().app_token(BASE).table_id(table).build()
        )
    )
    assert [r.record_id for r in listed.items] == [record_id] and listed.total == 1

    deleted = _ok(
        client.bitable.v1.app_table_record.delete(
            DeleteAppTableRecordRequest.builder()
            .app_token(BASE)
            .table_id(table)
            .record_id(record_id)
            .build()
        )
    )
    assert deleted.deleted is True and deleted.record_id == record_id

    missing = client.bitable.v1.app_table_record.get(
        GetAppTableRecordRequest.builder()
        .app_token(BASE)
        .table_id(table)
        .record_id(record_id)
        .build()
    )
    assert missing.code == 1254043


def test_batches_search_and_client_token(
    official: Callable[..., Any], base: BitableState, table: str
) -> None:
    from lark_oapi.api.bitable.v1 import (
        AppTableRecord,
        BatchCreateAppTableRecordRequest,
        BatchCreateAppTableRecordRequestBody,
        BatchDeleteAppTableRecordRequest,
        BatchDeleteAppTableRecordRequestBody,
        BatchGetAppTableRecordRequest,
        BatchGetAppTableRecordRequestBody,
        BatchUpdateAppTableRecordRequest,
        BatchUpdateAppTableRecordRequestBody,
        Condition,
        FilterInfo,
        SearchAppTableRecordRequest,
        SearchAppTableRecordRequestBody,
        Sort,
    )

    client = official()
    records = [
        AppTableRecord.builder().fields({"Name": f"r{i}", "Score": i, "Status": "Open"}).build()
        for i in range(10)
    ]

    def create(token: str) -> Any:
        return client.bitable.v1.app_table_record.batch_create(
            BatchCreateAppTableRecordRequest.builder()
            .app_token(BASE)
            .table_id(table)
            .client_token(token)
            .request_body(BatchCreateAppTableRecordRequestBody.builder().records(records).build())
            .build()
        )

    first = _ok(create("5d0c5a0e-0000-4000-8000-000000000002"))
    again = _ok(create("5d0c5a0e-0000-4000-8000-000000000002"))  # same token: same answer
    assert [r.record_id for r in again.records] == [r.record_id for r in first.records]
    assert len(base.records(BASE, table)) == 10

    ids = [r.record_id for r in first.records]
    updated = _ok(
        client.bitable.v1.app_table_record.batch_update(
            BatchUpdateAppTableRecordRequest.builder()
            .app_token(BASE)
            .table_id(table)
            .request_body(
                BatchUpdateAppTableRecordRequestBody.builder()
                .records(
                    [
                        AppTableRecord.builder()
                        .record_id(ids[0])
                        .fields({"Status": "Closed"})
                        .build()
                    ]
                )
                .build()
            )
            .build()
        )
    )
    assert updated.records[0].fields["Status"] == "Closed"

    search = _ok(
        client.bitable.v1.app_table_record.search(
            SearchAppTableRecordRequest.builder()
            .app_token(BASE)
            .table_id(table)
            .page_size(3)
            .request_body(
                SearchAppTableRecordRequestBody.builder()
                .field_names(["Name", "Score"])
                .sort([Sort.builder().field_name("Score").desc(True).build()])
                .filter(
                    FilterInfo.builder()
                    .conjunction("and")
                    .conditions(
                        [
                            Condition.builder()
                            .field_name("Status")
                            .operator("is")
                            .value(["Open"])
                            .build(),
                            Condition.builder()
                            .field_name("Score")
                            .operator("isGreater")
                            .value(["3"])
                            .build(),
                        ]
                    )
                    .build()
                )
                .build()
            )
            .build()
        )
    )
    assert [r.fields["Score"] for r in search.items] == [9, 8, 7]
    assert search.items[0].fields["Name"] == [{"type": "text", "text": "r9"}]
    assert search.has_more is True and search.total == 6

    got = _ok(
        client.bitable.v1.app_table_record.batch_get(
            BatchGetAppTableRecordRequest.builder()
            .app_token(BASE)
            .table_id(table)
            .request_body(
                BatchGetAppTableRecordRequestBody.builder()
                .record_ids([ids[1], "recMissing"])
                .build()
            )
            .build()
        )
    )
    assert [r.record_id for r in got.records] == [ids[1]]
    assert got.absent_record_ids == ["recMissing"]

    deleted = _ok(
        client.bitable.v1.app_table_record.batch_delete(
            BatchDeleteAppTableRecordRequest.builder()
            .app_token(BASE)
            .table_id(table)
            .request_body(BatchDeleteAppTableRecordRequestBody.builder().records(ids[:2]).build())
            .build()
        )
    )
    assert [(r.record_id, r.deleted) for r in deleted.records] == [(ids[0], True), (ids[1], True)]


def test_feishu_codes(official: Callable[..., Any], base: BitableState, table: str) -> None:
    from lark_oapi.api.bitable.v1 import (
        AppTableRecord,
        BatchCreateAppTableRecordRequest,
        BatchCreateAppTableRecordRequestBody,
        CreateAppTableRecordRequest,
        ListAppTableFieldRequest,
    )

    client = official()
    too_many = client.bitable.v1.app_table_record.batch_create(
        BatchCreateAppTableRecordRequest.builder()
        .app_token(BASE)
        .table_id(table)
        .request_body(
            BatchCreateAppTableRecordRequestBody.builder()
            .records([AppTableRecord.builder().fields({"Name": "x"}).build()] * 501)
            .build()
        )
        .build()
    )
    assert too_many.code == 1254104

    def create(fields: dict[str, Any]) -> Any:
        return client.bitable.v1.app_table_record.create(
            CreateAppTableRecordRequest.builder()
            .app_token(BASE)
            .table_id(table)
            .request_body(AppTableRecord.builder().fields(fields).build())
            .build()
        )

    assert create({"Score": "high"}).code == 1254061
    assert create({"Done": "yes"}).code == 1254065
    assert create({"Nope": 1}).code == 1254045
    missing = client.bitable.v1.app_table_field.list(
        ListAppTableFieldRequest.builder().app_token(BASE).table_id("tblNope").build()
    )
    assert missing.code == 1254041
    assert base.records(BASE, table) == []
