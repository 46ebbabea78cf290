"""aPaaS (``client.apaas``): workspace tables and records as a user (PostgREST-style filters
built with :class:`C`), functions (``invoke_ai_capability``) and flows.

See ``docs/apaas.md``.
"""

from ._async_client import AsyncApaasClient
from ._sync_client import ApaasClient
from .filter import C, Filter, render
from .models import ColumnInfo, TableInfo, WorkflowExecution, WorkflowStatus, WorkflowTask

__all__ = [
    "ApaasClient",
    "AsyncApaasClient",
    "C",
    "ColumnInfo",
    "Filter",
    "TableInfo",
    "WorkflowExecution",
    "WorkflowStatus",
    "WorkflowTask",
    "render",
]
