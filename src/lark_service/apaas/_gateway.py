"""Gateway operations of ``client.apaas``: workspace tables as a user (``user``: the open_id
of a user who authorized the app; their token is used), functions and flows (tenant token).
A flow started with an ``Idempotency-Key`` passes it (per API key) as Feishu's
``idempotent_key``."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..gateway import GatewayBody, GatewayQuery, examples, expose

__all__ = ["OPERATIONS"]

_WS = "/apaas/workspaces/{workspace_id}"
_RECORDS = _WS + "/tables/{table}/records"
_USER = Field(min_length=1, max_length=128, description="The open_id to act as (authorized).")


class UserQuery(GatewayQuery):
    user: str = _USER
    limit: int = Field(default=100, ge=1, le=10_000)


class UserOnlyQuery(GatewayQuery):
    user: str = _USER


class QueryBody(GatewayBody):
    model_config = examples({"user": "ou_123", "filter": "age=gte.18", "limit": 20})

    user: str = _USER
    filter: str | None = Field(
        default=None, max_length=10_000, description="PostgREST syntax: age=gte.18"
    )
    select: list[str] | None = Field(default=None, max_length=500)
    order: list[str] | None = Field(default=None, max_length=50)
    limit: int = Field(default=100, ge=1, le=10_000)


class UpdateBody(GatewayBody):
    model_config = examples({"user": "ou_123", "values": {"city": "Lyon"}})

    user: str = _USER
    values: dict[str, Any]


class InvokeBody(GatewayBody):
    model_config = examples({"params": {"text": "Summarise this week's tickets"}})

    params: Any = None
    timeout: float = Field(default=30, gt=0, le=300)


class FlowBody(GatewayBody):
    model_config = examples({"params": {"order_id": "A-1001"}, "is_async": False})

    params: Any = None
    is_async: bool = False


OPERATIONS = [
    expose("GET", _WS + "/tables", "list_workspace_tables", scopes=["apaas:read"],
           query=UserQuery, as_user="user", summary="A workspace's tables (as the user)"),
    expose("POST", _RECORDS + "/query", "query_table_records", scopes=["apaas:read"],
           body=QueryBody, as_user="user", summary="Records of a table (as the user)"),
    expose("PATCH", _RECORDS + "/{record_id}", "update_table_record", scopes=["apaas:write"],
           body=UpdateBody, as_user="user", summary="Change a record (as the user)"),
    expose("DELETE", _RECORDS + "/{record_id}", "delete_table_record", scopes=["apaas:write"],
           query=UserOnlyQuery, as_user="user", summary="Delete a record (as the user)"),
    expose("POST", "/apaas/applications/{namespace}/functions/{function_api_name}",
           "invoke_ai_capability", scopes=["apaas:invoke"], body=InvokeBody,
           summary="Invoke an aPaaS function (30 s default timeout)"),
    expose("POST", "/apaas/applications/{namespace}/flows/{flow_id}", "trigger_workflow",
           scopes=["apaas:invoke"], body=FlowBody, uuid_argument="idempotency_key",
           summary="Start a flow (Idempotency-Key: started at most once)"),
    expose("GET", "/apaas/executions/{execution_id}", "get_workflow_status",
           scopes=["apaas:read"], summary="A flow execution's status"),
]  # fmt: skip
