"""Gateway operations of ``client.bitable``: records (create, read, update, delete, query,
batch create)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..gateway import GatewayBody, examples, expose

__all__ = ["OPERATIONS"]

_TABLE = "/bitable/{app_token}/tables/{table_id}/records"


class RecordBody(GatewayBody):
    model_config = examples({"fields": {"Title": "Fix login", "Status": "Open"}})

    fields: dict[str, Any] = Field(description="{field name: value}.")
    client_token: str | None = Field(default=None, min_length=1, max_length=128)


class UpdateRecordBody(GatewayBody):
    model_config = examples({"fields": {"Status": "Done"}})

    fields: dict[str, Any]


class QueryBody(GatewayBody):
    model_config = examples(
        {
            "filter": {
                "conjunction": "and",
                "conditions": [{"field_name": "Status", "operator": "is", "value": ["Open"]}],
            },
            "limit": 50,
        }
    )

    filter: dict[str, Any] | None = Field(default=None, description="Feishu's filter object.")
    sort: list[dict[str, Any]] | None = Field(default=None, max_length=100)
    field_names: list[str] | None = Field(default=None, max_length=500)
    view_id: str | None = Field(default=None, min_length=1, max_length=128)
    limit: int = Field(default=100, ge=1, le=10_000, description="At most this many records.")


class BatchCreateBody(GatewayBody):
    model_config = examples({"records": [{"Title": "a"}, {"Title": "b"}]})

    records: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


_READ = ["bitable:read"]
_WRITE = ["bitable:write"]

OPERATIONS = [
    expose("POST", _TABLE, "create_record", scopes=_WRITE, body=RecordBody,
           summary="Create a record"),
    expose("POST", _TABLE + "/batch", "batch_create_records", scopes=_WRITE,
           body=BatchCreateBody, summary="Create many records (chunked, per-chunk results)"),
    expose("POST", _TABLE + "/query", "query_records", scopes=_READ, body=QueryBody,
           summary="Records matching a filter (up to limit)"),
    expose("GET", _TABLE + "/{record_id}", "get_record", scopes=_READ, summary="One record"),
    expose("PATCH", _TABLE + "/{record_id}", "update_record", scopes=_WRITE,
           body=UpdateRecordBody, summary="Change some fields of a record"),
    expose("DELETE", _TABLE + "/{record_id}", "delete_record", scopes=_WRITE,
           summary="Delete a record"),
]  # fmt: skip
