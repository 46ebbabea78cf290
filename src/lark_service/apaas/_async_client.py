"""``client.apaas``: aPaaS workspace tables and records (as a user), functions and flows.

Workspace endpoints take **only a user token**: call them on ``client.as_user(open_id).apaas``
(the user must have authorized the app, see docs/auth.md). Functions and flows take the
tenant token. Record payloads and results are JSON strings on the wire; here they are Python
values both ways. See docs/apaas.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .. import errors
from .._async_pagination import AsyncPager
from .._async_resource import AsyncResource
from .._options import RequestOptions
from .._pagination import Page
from .._paths import api_path
from ._errors import apaas_error
from ._helpers import _MAX_PAGE, _TASK_PAGE, _columns, _dumps, _loads, _name, _records
from .filter import Filter, render
from .models import TableInfo, WorkflowExecution, WorkflowStatus, WorkflowTask

__all__ = ["AsyncApaasClient"]

_WS = "/open-apis/apaas/v1/workspaces/{workspace_id}"
_TABLE = _WS + "/tables/{table}"
_APP = "/open-apis/apaas/v1/applications/{namespace}"
_TASKS = "/open-apis/apaas/v1/user_task/query"


class AsyncApaasClient(AsyncResource):
    """aPaaS: workspace tables (user token), functions and flows (tenant token)."""

    # -- options -----------------------------------------------------------------------------

    def _user_opts(self, **changes: Any) -> RequestOptions:
        opts = self._opts(error_context=apaas_error, **changes)
        if opts.user is None:
            raise errors.ValidationError(
                "aPaaS workspace endpoints take a user token only: call them on "
                "client.as_user(open_id).apaas (the user must have authorized the app)",
                field="user",
            )
        return opts

    def _tenant_opts(self, **changes: Any) -> RequestOptions:
        base = dataclasses.replace(self._options, token="tenant", user=None)
        return base.merge(error_context=apaas_error, **changes)

    async def _table_call(
        self, workspace_id: str, table: str | None, method: str, path: str, **kw: Any
    ) -> Any:
        """One workspace call; an unknown table becomes NotFoundError listing the tables."""
        try:
            return await self._request(method, path, **kw)
        except errors.NotFoundError as exc:
            raise await self._not_found(workspace_id, table, exc) from exc

    async def _not_found(
        self, workspace_id: str, table: str | None, cause: errors.NotFoundError
    ) -> errors.NotFoundError:
        try:
            names = [t.name for t in await self.list_workspace_tables(workspace_id).to_list()]
        except errors.NotFoundError:
            return errors.NotFoundError(
                f"workspace {workspace_id} does not exist or the user cannot see it",
                code=cause.code,
                request_id=cause.request_id,
                log_id=cause.log_id,
                http_status=cause.http_status,
                hint="Check the workspace id (aPaaS → workspace settings).",
            )
        if table is not None and table not in names:
            listed = ", ".join(names) if names else "(none)"
            return errors.NotFoundError(
                f"table {table!r} is not in workspace {workspace_id}; its tables: {listed}",
                code=cause.code,
                request_id=cause.request_id,
                log_id=cause.log_id,
                http_status=cause.http_status,
                hint="Use one of the listed table names.",
            )
        return cause

    # -- tables ------------------------------------------------------------------------------

    def list_workspace_tables(
        self, workspace_id: str, *, page_size: int = 100
    ) -> AsyncPager[TableInfo]:
        """The workspace's tables with their column definitions, as a lazy pager.

        ``GET /open-apis/apaas/v1/workspaces/:workspace_id/tables`` (user token)."""
        ws = _name(workspace_id, "workspace_id")
        return self._paginate(
            api_path(_WS + "/tables", workspace_id=ws),
            lambda _r, item: TableInfo.model_validate(item),
            options=self._user_opts(),
            page_size=page_size,
        )

    async def get_table(self, workspace_id: str, table: str) -> TableInfo:
        """One table and its columns (NotFoundError lists the workspace's tables)."""
        ws, name = _name(workspace_id, "workspace_id"), _name(table, "table")
        response = await self._table_call(
            ws,
            name,
            "GET",
            api_path(_TABLE, workspace_id=ws, table=name),
            options=self._user_opts(),
        )
        return TableInfo.model_validate(response.data)

    # -- records -----------------------------------------------------------------------------

    def query_table_records(
        self,
        workspace_id: str,
        table: str,
        *,
        filter: Filter | str | None = None,
        select: Iterable[str] | str | None = None,
        order: Iterable[str] | str | None = None,
        page_size: int = 100,
    ) -> AsyncPager[dict[str, Any]]:
        """Records as dicts, lazily paged: ``filter`` built with :class:`C`
        (``C("age") > 10`` → ``age=gt.10``) or a PostgREST string, ``select`` columns,
        ``order`` like ``["age.desc", "name"]``. ValidationError before any request."""
        ws, name = _name(workspace_id, "workspace_id"), _name(table, "table")
        if not isinstance(page_size, int) or not 1 <= page_size <= _MAX_PAGE:
            raise errors.ValidationError(f"page_size must be 1..{_MAX_PAGE}", field="page_size")
        params: dict[str, Any] = {"page_size": page_size}
        text = render(filter)
        if text:
            params["filter"] = text
        if select is not None:
            params["select"] = _columns(select, "select")
        if order is not None:
            params["order"] = _columns(order, "order")
        opts = self._user_opts()
        path = api_path(_TABLE + "/records", workspace_id=ws, table=name)

        async def fetch(token: str | None) -> Page[dict[str, Any]]:
            query = dict(params)
            if token:
                query["page_token"] = token
            response = await self._table_call(ws, name, "GET", path, options=opts, params=query)
            data = response.data
            items = _loads(data.get("items")) or []
            rows = [dict(r) for r in items if isinstance(r, Mapping)]
            next_token = data.get("page_token")
            more = bool(data.get("has_more")) and isinstance(next_token, str) and next_token
            return Page(rows, next_token if more else None)

        return AsyncPager(fetch)

    async def insert_table_records(
        self,
        workspace_id: str,
        table: str,
        records: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        *,
        on_conflict: Iterable[str] | str | None = None,
        columns: Iterable[str] | str | None = None,
    ) -> list[str]:
        """Insert records (dicts; JSON-encoded for the wire); with ``on_conflict`` (the unique
        columns), an upsert. Returns the record ids. ConflictError on a duplicate key or a
        concurrent write (re-read and retry); QuotaExceededError when the workspace is full."""
        ws, name = _name(workspace_id, "workspace_id"), _name(table, "table")
        params: dict[str, Any] = {}
        if on_conflict is not None:
            params["on_conflict"] = _columns(on_conflict, "on_conflict")
        if columns is not None:
            params["columns"] = _columns(columns, "columns")
        body = {"records": _dumps(_records(records), "records")}
        response = await self._table_call(
            ws,
            name,
            "POST",
            api_path(_TABLE + "/records", workspace_id=ws, table=name),
            options=self._user_opts(idempotent=False if on_conflict is None else None),
            params=params or None,
            json=body,
        )
        return [str(i) for i in response.data.get("record_ids") or []]

    async def upsert_table_records(
        self,
        workspace_id: str,
        table: str,
        records: Sequence[Mapping[str, Any]] | Mapping[str, Any],
        *,
        on_conflict: Iterable[str] | str,
    ) -> list[str]:
        """Insert, or update the record whose ``on_conflict`` columns match."""
        return await self.insert_table_records(
            workspace_id, table, records, on_conflict=on_conflict
        )

    async def update_table_records(
        self,
        workspace_id: str,
        table: str,
        values: Mapping[str, Any],
        *,
        filter: Filter | str,
    ) -> list[str]:
        """Set ``values`` (a partial record) on every record matching ``filter``; the ids."""
        ws, name = _name(workspace_id, "workspace_id"), _name(table, "table")
        if not isinstance(values, Mapping) or not values:
            raise errors.ValidationError("values must be a non-empty dict", field="values")
        text = render(filter)
        if not text:
            raise errors.ValidationError("filter is required", field="filter")
        response = await self._table_call(
            ws,
            name,
            "PATCH",
            api_path(_TABLE + "/records", workspace_id=ws, table=name),
            options=self._user_opts(),
            params={"filter": text},
            json={"record": _dumps(dict(values), "values")},
        )
        return [str(i) for i in response.data.get("record_ids") or []]

    async def update_table_record(
        self, workspace_id: str, table: str, record_id: str | int, values: Mapping[str, Any]
    ) -> str:
        """Set ``values`` on the record ``record_id`` (partial); NotFoundError if it is gone."""
        rid = _name(str(record_id), "record_id")
        from .filter import C

        ids = await self.update_table_records(workspace_id, table, values, filter=C("_id") == rid)
        if not ids:
            raise errors.NotFoundError(f"record {rid} is not in table {table}")
        return ids[0]

    async def delete_table_records(
        self, workspace_id: str, table: str, *, filter: Filter | str
    ) -> None:
        """Delete every record matching ``filter`` (required: no accidental full wipe)."""
        ws, name = _name(workspace_id, "workspace_id"), _name(table, "table")
        text = render(filter)
        if not text:
            raise errors.ValidationError("filter is required", field="filter")
        await self._table_call(
            ws,
            name,
            "DELETE",
            api_path(_TABLE + "/records", workspace_id=ws, table=name),
            options=self._user_opts(),
            params={"filter": text},
        )

    async def delete_table_record(
        self, workspace_id: str, table: str, record_id: str | int
    ) -> None:
        """Delete the record ``record_id``."""
        from .filter import C

        rid = _name(str(record_id), "record_id")
        await self.delete_table_records(workspace_id, table, filter=C("_id") == rid)

    async def batch_update(
        self, workspace_id: str, table: str, records: Sequence[Mapping[str, Any]]
    ) -> list[str]:
        """Update several records at once, each a dict with its ``_id`` and the changes."""
        ws, name = _name(workspace_id, "workspace_id"), _name(table, "table")
        rows = _records(records)
        if any("_id" not in r for r in rows):
            raise errors.ValidationError("every record needs its _id", field="records")
        response = await self._table_call(
            ws,
            name,
            "PATCH",
            api_path(_TABLE + "/records_batch_update", workspace_id=ws, table=name),
            options=self._user_opts(),
            json={"records": _dumps(rows, "records")},
        )
        return [str(i) for i in response.data.get("record_ids") or []]

    async def run_sql(self, workspace_id: str, sql: str) -> Any:
        """Run ``sql`` in the workspace (``sql_commands``); the decoded result (rows)."""
        ws, text = _name(workspace_id, "workspace_id"), _name(sql, "sql")
        response = await self._table_call(
            ws,
            None,
            "POST",
            api_path(_WS + "/sql_commands", workspace_id=ws),
            options=self._user_opts(idempotent=False),
            json={"sql": text},
        )
        return _loads(response.data.get("result"))

    # -- functions and flows (tenant token) --------------------------------------------------

    async def invoke_ai_capability(
        self,
        namespace: str,
        function_api_name: str,
        params: Any = None,
        *,
        timeout: float = 30,
    ) -> Any:
        """Invoke the aPaaS function ``function_api_name`` of the application ``namespace``
        with ``params`` (JSON-encoded); its decoded result.

        ``POST .../applications/:namespace/functions/:function_api_name/invoke``. Not retried
        after it may have run; raises TimeoutError after ``timeout`` seconds (default 30)."""
        ns, fn = _name(namespace, "namespace"), _name(function_api_name, "function_api_name")
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise errors.ValidationError("timeout must be a positive number", field="timeout")
        response = await self._request(
            "POST",
            api_path(_APP + "/functions/{fn}/invoke", namespace=ns, fn=fn),
            options=self._tenant_opts(timeout=float(timeout), idempotent=False),
            json={"params": _dumps({} if params is None else params, "params")},
        )
        return _loads(response.data.get("result"))

    async def trigger_workflow(
        self,
        namespace: str,
        flow_id: str,
        params: Any = None,
        *,
        idempotency_key: str | None = None,
        is_async: bool = False,
    ) -> WorkflowExecution:
        """Execute the flow ``flow_id``; the execution (``.execution_id``, ``status``,
        decoded ``out_params``). With ``idempotency_key`` a repeated call (a retry) starts
        the flow at most once, and is then retried safely."""
        ns, fid = _name(namespace, "namespace"), _name(flow_id, "flow_id")
        body: dict[str, Any] = {
            "is_async": bool(is_async),
            "params": _dumps({} if params is None else params, "params"),
        }
        if idempotency_key is not None:
            body["idempotent_key"] = _name(idempotency_key, "idempotency_key")
        response = await self._request(
            "POST",
            api_path(_APP + "/flows/{flow_id}/execute", namespace=ns, flow_id=fid),
            options=self._tenant_opts(idempotent=None if idempotency_key else False),
            json=body,
        )
        data = response.data
        return WorkflowExecution(
            execution_id=str(data.get("execution_id") or ""),
            status=data.get("status") or None,
            out_params=_loads(data.get("out_params")),
            error_msg=data.get("error_msg") or None,
        )

    async def get_workflow_status(self, execution_id: str | WorkflowExecution) -> WorkflowStatus:
        """The status of a flow execution, read through ``user_task/query`` (the only API
        that shows executions). NotFoundError when no user task names the execution: Feishu
        has no lookup by execution id (see docs/apaas.md)."""
        wanted = (
            execution_id.execution_id
            if isinstance(execution_id, WorkflowExecution)
            else execution_id
        )
        wanted = _name(wanted, "execution_id")
        offset = 0
        status: str | None = None
        tasks: list[WorkflowTask] = []
        found = False
        while True:
            response = await self._request(
                "POST",
                _TASKS,
                options=self._tenant_opts(),
                json={"type": "all", "source": "all", "limit": _TASK_PAGE, "offset": offset},
            )
            page = response.data.get("tasks") or []
            for task in page:
                instance = task.get("workflow_instance") or {}
                if str(instance.get("id")) == wanted:
                    found = True
                    status = instance.get("status") or status
                    tasks.append(WorkflowTask.model_validate(task))
            offset += len(page)
            total = int(response.data.get("count") or 0)
            if not page or offset >= total:
                break
        if not found:
            raise errors.NotFoundError(
                f"no user task names the flow execution {wanted}",
                hint="Feishu exposes flow executions only through their user tasks; keep the "
                "status and out_params that trigger_workflow returned.",
            )
        return WorkflowStatus(execution_id=wanted, status=status, tasks=tasks)
