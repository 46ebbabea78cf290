"""Results of ``client.apaas``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ColumnInfo", "TableInfo", "WorkflowExecution", "WorkflowStatus", "WorkflowTask"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ColumnInfo(_Model):
    name: str
    description: str | None = None
    data_type: str | None = None
    is_primary_key: bool = False
    is_unique: bool = False
    is_auto_increment: bool = False
    is_array: bool = False
    is_allow_null: bool = True
    default_value: Any = None


class TableInfo(_Model):
    """A workspace table and its column definitions."""

    name: str
    description: str | None = None
    columns: list[ColumnInfo] = Field(default_factory=list)


class WorkflowExecution(_Model):
    """What ``flows/:flow_id/execute`` answered (``out_params`` decoded from its JSON)."""

    execution_id: str
    status: str | None = None
    out_params: Any = None
    error_msg: str | None = None


class WorkflowTask(_Model):
    task_id: str | None = None
    task_start_time: str | None = None


class WorkflowStatus(_Model):
    """A flow execution as Feishu's user-task query shows it (see docs/apaas.md: Feishu has no
    lookup by execution id; only executions that created user tasks are visible)."""

    execution_id: str
    status: str | None = None
    tasks: list[WorkflowTask] = Field(default_factory=list)
