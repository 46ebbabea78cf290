"""aPaaS: workspace tables and records (user token), functions, flows and user tasks (tenant).

Workspace endpoints (``/open-apis/apaas/v1/workspaces/:workspace_id/...``, user token only):
``tables`` (paged, with columns), ``tables/:table``, ``tables/:table/records`` (GET with
``filter``/``select``/``order``/``page_size``/``page_token``; POST insert or upsert with
``on_conflict``; PATCH by ``filter``; DELETE by ``filter``), ``records_batch_update`` and
``sql_commands`` (SELECT only, evaluated by SQLite). Record payloads are JSON strings, as in
Feishu. Function invoke, flow execute and ``user_task/query`` take a tenant token.

Control: ``POST /_emulator/apaas/workspaces`` (seed, see :meth:`ApaasDomain.add_workspace`),
``POST /_emulator/apaas/functions`` ``{"namespace", "function", "result", "latency", "error"}``,
``POST /_emulator/apaas/flows`` ``{"namespace", "flow_id", "out_params", "status", "task"}``,
``POST /_emulator/apaas/conflicts`` ``{"workspace_id", "count"}`` (the next writes conflict),
``POST /_emulator/apaas/executions/{id}`` ``{"status"}``.

Error codes (the emulator's choice; Feishu's own aPaaS codes are not in the SDK): 2300404 unknown
workspace or table (HTTP 404), 2300409 write conflict (HTTP 409), 2300429 record quota
exceeded (HTTP 400), 2300400 bad filter/record/SQL (HTTP 400); missing user scopes answer
99991679 with ``permission_violations``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .apaas_state import (
    ApaasDomain,
    Execution,
    FilterSyntaxError,
    Table,
    Workspace,
    apaas,
    order_records,
    parse_filter,
)
from .api import Caller, FeishuError, authenticate, ok, read_json
from .oauth_state import oauth
from .state import EmulatorState

__all__ = ["CODE_BAD", "CODE_CONFLICT", "CODE_NOT_FOUND", "CODE_QUOTA", "routes"]

CODE_NOT_FOUND = 2300404
CODE_CONFLICT = 2300409
CODE_QUOTA = 2300429
CODE_BAD = 2300400
WS = "/open-apis/apaas/v1/workspaces/{workspace_id}"
APPS = "/open-apis/apaas/v1/applications/{namespace}"
MAX_PAGE = 500


def _loads(raw: Any, what: str) -> Any:
    if not isinstance(raw, str):
        raise FeishuError(CODE_BAD, f"{what} must be a JSON string")
    try:
        return json.loads(raw)
    except ValueError:
        raise FeishuError(CODE_BAD, f"{what} is not valid JSON") from None


def routes(state: EmulatorState) -> list[BaseRoute]:

    def _d() -> ApaasDomain:  # looked up per call: reset() replaces the domain state
        return apaas(state)

    def _user(request: Request) -> Caller:
        return authenticate(request, state, kinds=("user",))

    def _workspace(request: Request, caller: Caller) -> Workspace:
        ws_id = request.path_params["workspace_id"]
        with _d().lock:
            ws = _d().workspaces.get(ws_id)
        if ws is None:
            raise FeishuError(CODE_NOT_FOUND, f"workspace {ws_id} not found", http_status=404)
        if ws.required_scopes:
            granted = set(oauth(state).token_scopes.get(caller.token, []))
            missing = [s for s in ws.required_scopes if s not in granted]
            if missing:
                raise FeishuError(
                    99991679,
                    "Unauthorized. You do not have permission to perform the requested "
                    "operation on the resource. The user has not granted the scopes.",
                    error={
                        "permission_violations": [
                            {"type": "action_scope_required", "subject": s} for s in missing
                        ]
                    },
                )
        return ws

    def _table(request: Request, ws: Workspace) -> Table:
        name = request.path_params["table"]
        table = ws.tables.get(name)
        if table is None:
            raise FeishuError(
                CODE_NOT_FOUND,
                f"table {name} not found in workspace {ws.workspace_id}",
                http_status=404,
            )
        return table

    def _filter(request: Request) -> Any:
        try:
            return parse_filter(request.query_params.get("filter"))
        except FilterSyntaxError as exc:
            raise FeishuError(CODE_BAD, f"invalid filter: {exc}") from None

    def _conflict(ws: Workspace) -> None:
        with _d().lock:
            if ws.conflicts > 0:
                ws.conflicts -= 1
                raise FeishuError(
                    CODE_CONFLICT,
                    "write conflict: the record was changed by another request",
                    http_status=409,
                )

    async def list_tables(request: Request) -> Response:
        ws = _workspace(request, _user(request))
        size = min(int(request.query_params.get("page_size") or 20), 100)
        start = int(request.query_params.get("page_token") or 0)
        names = sorted(ws.tables)
        page = [ws.tables[n].to_dict() for n in names[start : start + size]]
        more = start + size < len(names)
        return ok(
            {"items": page, "has_more": more, "page_token": str(start + size) if more else ""}
        )

    async def get_table(request: Request) -> Response:
        ws = _workspace(request, _user(request))
        return ok(_table(request, ws).to_dict())

    async def query_records(request: Request) -> Response:
        ws = _workspace(request, _user(request))
        table = _table(request, ws)
        q = request.query_params
        match = _filter(request)
        size = int(q.get("page_size") or 20)
        if not 1 <= size <= MAX_PAGE:
            raise FeishuError(CODE_BAD, f"page_size must be 1..{MAX_PAGE}")
        start = int(q.get("page_token") or 0)
        with _d().lock:
            rows = order_records([r for r in table.records if match(r)], q.get("order"))
        selected = [s for s in (q.get("select") or "").split(",") if s]
        page = rows[start : start + size]
        if selected:
            page = [{k: r.get(k) for k in selected} for r in page]
        more = start + size < len(rows)
        return ok(
            {
                "items": json.dumps(page, ensure_ascii=False),
                "total": len(rows),
                "has_more": more,
                "page_token": str(start + size) if more else "",
            }
        )

    async def insert_records(request: Request) -> Response:
        ws = _workspace(request, _user(request))
        table = _table(request, ws)
        body = await read_json(request)
        records = _loads(body.get("records"), "records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise FeishuError(CODE_BAD, "records must hold an array of objects")
        _conflict(ws)
        conflict_on = [c for c in (request.query_params.get("on_conflict") or "").split(",") if c]
        unique = table.unique_columns()
        now = state.clock.now_ms()
        ids: list[Any] = []
        with _d().lock:
            new = [r for r in records if not _existing(table, r, conflict_on)]
            if ws.max_records is not None and ws.record_count() + len(new) > ws.max_records:
                raise FeishuError(
                    CODE_QUOTA,
                    f"record quota exceeded: the workspace holds at most {ws.max_records}",
                )
            for record in records:
                found = _existing(table, record, conflict_on)
                if found is not None:
                    found.update({k: v for k, v in record.items() if k != "_id"})
                    found["_updated_at"] = now
                    ids.append(found["_id"])
                    continue
                for column in unique:
                    if column in record and any(
                        r.get(column) == record[column] for r in table.records
                    ):
                        raise FeishuError(
                            CODE_CONFLICT,
                            f"duplicate key value violates unique constraint on {column}",
                            http_status=409,
                        )
                stored = _d().stamp({k: v for k, v in record.items() if k != "_id"}, now)
                table.records.append(stored)
                ids.append(stored["_id"])
        return ok({"record_ids": [str(i) for i in ids]})

    async def update_records(request: Request) -> Response:
        ws = _workspace(request, _user(request))
        table = _table(request, ws)
        body = await read_json(request)
        record = _loads(body.get("record"), "record")
        if not isinstance(record, dict):
            raise FeishuError(CODE_BAD, "record must hold an object")
        if not request.query_params.get("filter"):
            raise FeishuError(CODE_BAD, "filter is required")
        match = _filter(request)
        _conflict(ws)
        now = state.clock.now_ms()
        with _d().lock:
            hit = [r for r in table.records if match(r)]
            for r in hit:
                r.update({k: v for k, v in record.items() if not k.startswith("_")})
                r["_updated_at"] = now
        return ok({"record_ids": [str(r["_id"]) for r in hit]})

    async def delete_records(request: Request) -> Response:
        ws = _workspace(request, _user(request))
        table = _table(request, ws)
        if not request.query_params.get("filter"):
            raise FeishuError(CODE_BAD, "filter is required")
        match = _filter(request)
        _conflict(ws)
        with _d().lock:
            table.records[:] = [r for r in table.records if not match(r)]
        return ok({})

    async def batch_update(request: Request) -> Response:
        ws = _workspace(request, _user(request))
        table = _table(request, ws)
        body = await read_json(request)
        records = _loads(body.get("records"), "records")
        if not isinstance(records, list) or not all(
            isinstance(r, dict) and "_id" in r for r in records
        ):
            raise FeishuError(CODE_BAD, "records must hold objects, each with its _id")
        _conflict(ws)
        now = state.clock.now_ms()
        with _d().lock:
            by_id = {str(r["_id"]): r for r in table.records}
            missing = [str(r["_id"]) for r in records if str(r["_id"]) not in by_id]
            if missing:
                raise FeishuError(CODE_NOT_FOUND, f"records not found: {missing}", http_status=404)
            for change in records:
                target = by_id[str(change["_id"])]
                target.update({k: v for k, v in change.items() if not k.startswith("_")})
                target["_updated_at"] = now
        return ok({"record_ids": [str(r["_id"]) for r in records]})

    async def sql(request: Request) -> Response:
        ws = _workspace(request, _user(request))
        body = await read_json(request)
        text = body.get("sql")
        if not isinstance(text, str) or not text.strip():
            raise FeishuError(CODE_BAD, "sql is required")
        if not text.lstrip().lower().startswith(("select", "with")):
            raise FeishuError(CODE_BAD, "the emulator runs SELECT statements only")
        with _d().lock:
            rows = _run_select(ws, text)
        return ok({"result": json.dumps(rows, ensure_ascii=False)})

    # -- functions and flows (tenant token) -------------------------------------------------

    async def invoke(request: Request) -> Response:
        authenticate(request, state, kinds=("tenant",))
        ns, name = request.path_params["namespace"], request.path_params["function"]
        body = await read_json(request)
        params = _loads(body.get("params", "{}"), "params")
        with _d().lock:
            fn = _d().functions.get((ns, name))
        if fn is None:
            raise FeishuError(CODE_NOT_FOUND, f"function {name} not found in {ns}", http_status=404)
        if fn.latency:
            await asyncio.sleep(fn.latency)
        if fn.error:
            raise FeishuError(CODE_BAD, fn.error)
        result = fn.result if fn.result is not None else {"echo": params}
        return ok({"result": json.dumps(result, ensure_ascii=False)})

    async def execute(request: Request) -> Response:
        authenticate(request, state, kinds=("tenant",))
        ns, flow_id = request.path_params["namespace"], request.path_params["flow_id"]
        body = await read_json(request)
        params = _loads(body.get("params", "{}"), "params")
        with _d().lock:
            flow = _d().flows.get((ns, flow_id))
            if flow is None:
                raise FeishuError(CODE_NOT_FOUND, f"flow {flow_id} not found", http_status=404)
            key = body.get("idempotent_key")
            if key and (ns, flow_id, key) in _d().idempotency:
                execution = _d().executions[_d().idempotency[(ns, flow_id, key)]]
            else:
                execution = Execution(
                    execution_id=str(_d().new_id() + 7_000_000_000),
                    namespace=ns,
                    flow_id=flow_id,
                    params=params,
                    status=str(flow["status"]),
                    out_params=flow["out_params"],
                    started_at=state.clock.now(),
                    task_id=uuid.uuid4().hex[:16] if flow["task"] else None,
                )
                _d().executions[execution.execution_id] = execution
                if key:
                    _d().idempotency[(ns, flow_id, key)] = execution.execution_id
        return ok(
            {
                "status": execution.status,
                "out_params": json.dumps(execution.out_params, ensure_ascii=False),
                "execution_id": execution.execution_id,
                "error_msg": "",
                "code": "",
            }
        )

    async def user_tasks(request: Request) -> Response:
        authenticate(request, state, kinds=("tenant",))
        body = await read_json(request)
        limit = int(body.get("limit") or 50)
        offset = int(body.get("offset") or 0)
        with _d().lock:
            tasks = [
                {
                    "task_id": e.task_id,
                    "task_start_time": str(int(e.started_at * 1000)),
                    "workflow_instance": {
                        "id": e.execution_id,
                        "label": [{"language_code": 1033, "text": e.flow_id}],
                        "status": e.status,
                    },
                    "initiator": {"user_id": "", "name": []},
                    "summarys": [],
                }
                for e in _d().executions.values()
                if e.task_id
            ]
        return ok({"count": str(len(tasks)), "tasks": tasks[offset : offset + limit]})

    # -- control ---------------------------------------------------------------------------

    async def _json(request: Request) -> dict[str, Any]:
        raw = await request.body()
        value = json.loads(raw) if raw.strip() else {}
        if not isinstance(value, dict):
            raise ValueError("the body must be a JSON object")
        return value

    async def seed(request: Request) -> Response:
        body = await _json(request)
        ws = _d().add_workspace(
            str(body["workspace_id"]),
            body.get("tables"),
            required_scopes=body.get("required_scopes"),
            max_records=body.get("max_records"),
            now_ms=state.clock.now_ms(),
        )
        return JSONResponse({"workspace_id": ws.workspace_id, "tables": sorted(ws.tables)})

    async def set_function(request: Request) -> Response:
        body = await _json(request)
        _d().set_function(
            str(body["namespace"]),
            str(body["function"]),
            result=body.get("result"),
            latency=float(body.get("latency") or 0),
            error=body.get("error"),
        )
        return JSONResponse({"ok": True})

    async def set_flow(request: Request) -> Response:
        body = await _json(request)
        _d().set_flow(
            str(body["namespace"]),
            str(body["flow_id"]),
            out_params=body.get("out_params"),
            status=str(body.get("status") or "completed"),
            task=bool(body.get("task", True)),
        )
        return JSONResponse({"ok": True})

    async def conflicts(request: Request) -> Response:
        body = await _json(request)
        with _d().lock:
            ws = _d().workspaces[str(body["workspace_id"])]
            ws.conflicts = int(body.get("count", 1))
        return JSONResponse({"ok": True})

    async def set_execution(request: Request) -> Response:
        body = await _json(request)
        with _d().lock:
            execution = _d().executions[request.path_params["execution_id"]]
            execution.status = str(body.get("status", execution.status))
        return JSONResponse({"ok": True})

    return [
        Route(WS + "/tables", list_tables, methods=["GET"]),
        Route(WS + "/tables/{table}", get_table, methods=["GET"]),
        Route(WS + "/tables/{table}/records", query_records, methods=["GET"]),
        Route(WS + "/tables/{table}/records", insert_records, methods=["POST"]),
        Route(WS + "/tables/{table}/records", update_records, methods=["PATCH"]),
        Route(WS + "/tables/{table}/records", delete_records, methods=["DELETE"]),
        Route(WS + "/tables/{table}/records_batch_update", batch_update, methods=["PATCH"]),
        Route(WS + "/sql_commands", sql, methods=["POST"]),
        Route(APPS + "/functions/{function}/invoke", invoke, methods=["POST"]),
        Route(APPS + "/flows/{flow_id}/execute", execute, methods=["POST"]),
        Route("/open-apis/apaas/v1/user_task/query", user_tasks, methods=["POST"]),
        Route("/_emulator/apaas/workspaces", seed, methods=["POST"]),
        Route("/_emulator/apaas/functions", set_function, methods=["POST"]),
        Route("/_emulator/apaas/flows", set_flow, methods=["POST"]),
        Route("/_emulator/apaas/conflicts", conflicts, methods=["POST"]),
        Route("/_emulator/apaas/executions/{execution_id}", set_execution, methods=["POST"]),
    ]


def _existing(table: Table, record: dict[str, Any], on: list[str]) -> dict[str, Any] | None:
    if not on or not all(c in record for c in on):
        return None
    for row in table.records:
        if all(row.get(c) == record[c] for c in on):
            return row
    return None


def _run_select(ws: Workspace, text: str) -> list[dict[str, Any]]:
    db = sqlite3.connect(":memory:")
    try:
        for table in ws.tables.values():
            columns = ["_id", "_created_at", "_updated_at", *table.column_names()]
            columns = list(dict.fromkeys(columns))
            quoted = ", ".join(f'"{c}"' for c in columns)
            db.execute(f'CREATE TABLE "{table.name}" ({quoted})')
            marks = ", ".join("?" for _ in columns)
            db.executemany(
                f'INSERT INTO "{table.name}" VALUES ({marks})',
                [
                    [
                        json.dumps(v) if isinstance(v, (list, dict)) else v
                        for v in (r.get(c) for c in columns)
                    ]
                    for r in table.records
                ],
            )
        try:
            cursor = db.execute(text)
        except sqlite3.Error as exc:
            raise FeishuError(CODE_BAD, f"sql error: {exc}") from None
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=False)) for row in cursor.fetchall()]
    finally:
        db.close()
