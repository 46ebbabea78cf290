"""Bitable v1: tables, fields, records, search and batch writes (``openapi-reference.md`` §7).

| method | path (``/open-apis/bitable/v1/apps/:app_token`` + …) | |
| --- | --- | --- |
| GET / POST | ``/tables`` | list (100 a page) / create a table |
| GET | ``/tables/:table_id/fields`` | the field schema (100 a page) |
| POST / GET | ``/tables/:table_id/records`` | create one (``client_token``) / list (older API) |
| GET / PUT / DELETE | ``/tables/:table_id/records/:record_id`` | one record |
| POST | ``/tables/:table_id/records/search`` | filter, sort, ``field_names``, 500 a page |
| POST | ``/tables/:table_id/records/batch_create`` / ``batch_update`` / ``batch_delete`` | ≤500 |
| POST | ``/tables/:table_id/records/batch_get`` | by ids |
| POST | ``/open-apis/drive/v1/medias/upload_all`` | attachments (without routes_drive) |

Rules: 1254290 over ``writes_per_second`` per app (the emulator's clock); 1254104 for more
than ``batch_limit`` (500) records in one call; 1254291 for a write to a table while
another write to it is in flight (``write_seconds`` makes writes last);
1254103 past ``max_records``; a repeated ``client_token`` answers the first call's answer
without writing again; values are checked by field type (1254060-1254067) and a write naming
an unknown field gets 1254045; 1254040 / 1254041 / 1254043 for an unknown base, table,
record. Search answers text as ``[{"type": "text", "text"}]`` segments and links as
``{"link_record_ids"}``, like Feishu; people come back with their names.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .api import Caller, FeishuError, authenticate, ok, read_json
from .bitable_state import (
    DUPLEX,
    LINK,
    PERSON,
    TEXT,
    BitableState,
    BitableTable,
    bitable_of,
    check_filter,
    check_value,
    matches,
    sort_key,
)
from .routes_contact import page_slice
from .state import EmulatorState

__all__ = ["routes"]

PREFIX = "/open-apis/bitable/v1/apps/{app_token}"
TABLE = PREFIX + "/tables/{table_id}"
_KINDS = ("tenant", "user")


def _bad(detail: str) -> FeishuError:
    return FeishuError(1254001, f"WrongRequestBody, {detail}")


_RECORD_IDS = random.Random()


def _new_record_id() -> str:
    # not secrets.token_hex: a 10,000-record import makes 10,000 of them
    return f"rec{_RECORD_IDS.getrandbits(40):010x}"


def _person(state: EmulatorState, app_id: str, open_id: str) -> dict[str, Any]:
    user = state.find_user("open_id", open_id, app_id)
    entry: dict[str, Any] = {"id": open_id}
    if user is not None:
        entry.update(
            {"name": user.name, "en_name": user.name, "email": getattr(user, "email", None) or ""}
        )
    return entry


def _read_fields(
    state: EmulatorState,
    table: BitableTable,
    fields: Mapping[str, Any],
    app_id: str,
    *,
    search: bool,
    names: list[str] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if names is not None and name not in names:
            continue
        found = table.field(name)
        kind = found.type if found else None
        if value is None:
            continue
        if kind == TEXT and search and isinstance(value, str):
            value = [{"type": "text", "text": value}]
        elif kind == PERSON and isinstance(value, list):
            value = [_person(state, app_id, v["id"]) for v in value]
        elif kind in (LINK, DUPLEX) and search and isinstance(value, list):
            value = {"link_record_ids": list(value)}
        out[name] = value
    return out


def _record_wire(
    state: EmulatorState,
    table: BitableTable,
    record: Mapping[str, Any],
    app_id: str,
    *,
    search: bool = False,
    names: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "record_id": record["record_id"],
        "fields": _read_fields(state, table, record["fields"], app_id, search=search, names=names),
    }


def _open_ids(state: EmulatorState, app_id: str) -> set[str] | None:
    """open_ids this app may write into person fields (None: no users seeded, accept any)."""
    users = state.users()
    if not users:
        return None
    return {u.open_id_for(app_id) for u in users}


def routes(state: EmulatorState) -> list[BaseRoute]:
    """Bitable endpoints (and the Drive media upload for attachments when no other module
    serves it)."""

    def bstate() -> BitableState:
        return bitable_of(state)

    def ids(request: Request) -> tuple[str, str]:
        return request.path_params["app_token"], request.path_params["table_id"]

    def paged(request: Request, items: list[Any], tag: str, *, max_size: int) -> Any:
        return page_slice(
            request,
            items,
            tag=tag,
            default_size=20,
            max_size=max_size,
            bad_size=_bad(f"page_size must be between 1 and {max_size}"),
            bad_token=_bad("page_token is invalid"),
        )

    # -- tables and fields ----------------------------------------------------------------

    async def list_tables(request: Request) -> Response:
        authenticate(request, state, kinds=_KINDS)
        app_token = request.path_params["app_token"]
        b = bstate()
        with b.lock:
            base = b.bases.get(app_token)
            if base is None:
                raise FeishuError(1254040, "BaseTokenNotFound", http_status=404)
            tables = [
                {"table_id": t.table_id, "name": t.name, "revision": t.revision}
                for t in base.tables.values()
            ]
        chunk, paging = paged(request, tables, f"tables:{app_token}", max_size=100)
        return ok({"items": chunk, "total": len(tables), **paging})

    async def create_table(request: Request) -> Response:
        authenticate(request, state, kinds=_KINDS)
        app_token = request.path_params["app_token"]
        body = await read_json(request, code=1254000, msg="JSONParseError")
        spec = body.get("table")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            raise _bad("table.name is required")
        fields: dict[str, int] = {}
        for raw in spec.get("fields") or [{"field_name": "Text", "type": TEXT}]:
            if not isinstance(raw, Mapping) or not isinstance(raw.get("field_name"), str):
                raise _bad("fields[].field_name is required")
            fields[raw["field_name"]] = int(raw.get("type") or TEXT)
        b = bstate()
        with b.lock:
            if app_token not in b.bases:
                raise FeishuError(1254040, "BaseTokenNotFound", http_status=404)
            table_id = b.add_table(app_token, spec["name"], fields)
            table = b.table(app_token, table_id)
            field_ids = [f.field_id for f in table.fields]
        return ok(
            {
                "table_id": table_id,
                "default_view_id": "vew" + table_id[3:],
                "field_id_list": field_ids,
            }
        )

    async def list_fields(request: Request) -> Response:
        authenticate(request, state, kinds=_KINDS)
        app_token, table_id = ids(request)
        b = bstate()
        with b.lock:
            items = [f.wire() for f in b.table(app_token, table_id).fields]
        chunk, paging = paged(request, items, f"fields:{table_id}", max_size=100)
        return ok({"items": chunk, "total": len(items), **paging})

    # -- reads ----------------------------------------------------------------------------

    async def get_record(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        app_token, table_id = ids(request)
        record_id = request.path_params["record_id"]
        b = bstate()
        with b.lock:
            table = b.table(app_token, table_id)
            record = table.records.get(record_id)
            if record is None:
                raise FeishuError(1254043, "RecordIdNotFound", http_status=404)
            wire = _record_wire(state, table, record, caller.app_id)
        return ok({"record": {**wire, "id": record_id}})

    async def list_records(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        app_token, table_id = ids(request)
        b = bstate()
        with b.lock:
            table = b.table(app_token, table_id)
            items = [_record_wire(state, table, r, caller.app_id) for r in table.records.values()]
        chunk, paging = paged(request, items, f"list:{table_id}", max_size=500)
        return ok({"items": chunk, "total": len(items), **paging})

    async def search(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        app_token, table_id = ids(request)
        body = await read_json(request, code=1254000, msg="JSONParseError")
        b = bstate()
        with b.lock:
            table = b.table(app_token, table_id)
            spec = body.get("filter")
            if spec is not None:
                check_filter(table, spec)
            names = body.get("field_names")
            if names is not None:
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise _bad("field_names must be a list of strings")
                for name in names:
                    if table.field(name) is None:
                        raise FeishuError(1254045, f"FieldNameNotFound, ext={name}")
            view_id = body.get("view_id")
            if view_id is not None and not isinstance(view_id, str):
                raise _bad("view_id must be a string")
            rows = [
                r
                for r in table.records.values()
                if spec is None or matches(table, r["fields"], spec)
            ]
            for order in reversed(body.get("sort") or []):
                if (
                    not isinstance(order, Mapping)
                    or table.field(str(order.get("field_name"))) is None
                ):
                    raise FeishuError(1254045, f"FieldNameNotFound, ext={order!r}")
                name = str(order["field_name"])
                desc = bool(order.get("desc", False))
                filled = [r for r in rows if sort_key(r["fields"].get(name))[0] < 2]
                empty = [r for r in rows if sort_key(r["fields"].get(name))[0] == 2]
                filled.sort(key=lambda r: sort_key(r["fields"].get(name)), reverse=desc)
                rows = filled + empty
            # one page of records put in wire form, not every match on every page (an export
            # of 10,000 records read 20 pages x 10,000 records)
            tag = f"search:{table_id}:{hash(repr(sorted(body.items())))}"
            page, paging = paged(request, rows, tag, max_size=500)
            items = [
                _record_wire(state, table, r, caller.app_id, search=True, names=names) for r in page
            ]
        return ok({"items": items, "total": len(rows), **paging})

    async def batch_get(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        app_token, table_id = ids(request)
        body = await read_json(request, code=1254000, msg="JSONParseError")
        wanted = body.get("record_ids")
        if not isinstance(wanted, list) or not all(isinstance(r, str) for r in wanted):
            raise _bad("record_ids must be a list of strings")
        b = bstate()
        with b.lock:
            table = b.table(app_token, table_id)
            found = [
                _record_wire(state, table, table.records[r], caller.app_id)
                for r in wanted
                if r in table.records
            ]
            absent = [r for r in wanted if r not in table.records]
        return ok({"records": found, "absent_record_ids": absent, "forbidden_record_ids": []})

    # -- writes ---------------------------------------------------------------------------

    async def write(request: Request, action: str) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        app_token, table_id = ids(request)
        record_id = request.path_params.get("record_id")
        body = await read_json(request, code=1254000, msg="JSONParseError")
        token = request.query_params.get("client_token") or None
        b = bstate()
        key = (caller.app_id, app_token, table_id, action, record_id or "", token or "")
        with b.lock:
            table = b.table(app_token, table_id)
            if token is not None and key in b.answers:
                return ok(b.answers[key])
            if not b.admit_write(caller.app_id, state.clock.now()):
                raise FeishuError(1254290, "TooManyRequest", http_status=429)
            if table.writers > 0:
                b.conflicts += 1
                raise FeishuError(
                    1254291, "Write conflict: the table is being written by another request"
                )
            apply = _plan(state, b, table, action, body, record_id, caller)
            table.writers += 1
            b.in_flight += 1
            b.max_in_flight = max(b.max_in_flight, b.in_flight)
        try:
            if b.write_seconds > 0:
                await anyio.sleep(b.write_seconds)
            with b.lock:
                data = apply()
                table.revision += 1
                b.writes += 1
                if token is not None:
                    b.answers[key] = data
                lost = b.take_lost_answer()
        finally:
            with b.lock:
                table.writers -= 1
                b.in_flight -= 1
        if lost:
            raise FeishuError(1255040, "request timeout, please retry", http_status=504)
        return ok(data)

    def _plan(
        state: EmulatorState,
        b: BitableState,
        table: BitableTable,
        action: str,
        body: Mapping[str, Any],
        record_id: str | None,
        caller: Caller,
    ) -> Any:
        """Check the write completely (nothing changes on a refusal); a function applying it."""
        open_ids = _open_ids(state, caller.app_id)

        def fields_of(raw: Any) -> dict[str, Any]:
            if not isinstance(raw, Mapping):
                raise _bad("fields must be an object")
            return {n: check_value(table, str(n), v, open_ids) for n, v in raw.items()}

        def wire(record: Mapping[str, Any]) -> dict[str, Any]:
            return {"record_id": record["record_id"], "fields": dict(record["fields"])}

        if action in ("batch_create", "batch_update", "batch_delete"):
            records = body.get("records")
            if not isinstance(records, list) or not records:
                raise _bad("records must be a non-empty list")
            if len(records) > b.batch_limit:
                raise FeishuError(
                    1254104, f"RecordAddOnceExceedLimit: at most {b.batch_limit} records per call"
                )
        if action in ("create", "batch_create"):
            raw_list = [body] if action == "create" else body["records"]
            new: list[dict[str, Any]] = [
                {
                    "record_id": _new_record_id(),
                    "fields": fields_of(r.get("fields") if isinstance(r, Mapping) else None),
                }
                for r in raw_list
            ]
            if len(table.records) + len(new) > b.max_records:
                raise FeishuError(1254103, "RecordExceedLimit")

            def create() -> Any:
                for record in new:
                    table.records[record["record_id"]] = record
                if action == "create":
                    return {"record": {**wire(new[0]), "id": new[0]["record_id"]}}
                return {"records": [{**wire(r), "id": r["record_id"]} for r in new]}

            return create
        if action in ("update", "batch_update"):
            if action == "update":
                raw_list = [{"record_id": record_id, "fields": body.get("fields")}]
            else:
                raw_list = body["records"]
            changes: list[tuple[str, dict[str, Any]]] = []
            for raw in raw_list:
                if not isinstance(raw, Mapping) or not isinstance(raw.get("record_id"), str):
                    raise _bad("records[].record_id is required")
                if raw["record_id"] not in table.records:
                    raise FeishuError(
                        1254043, "RecordIdNotFound", http_status=404 if action == "update" else 400
                    )
                changes.append((raw["record_id"], fields_of(raw.get("fields"))))

            def update() -> Any:
                out = []
                for rid, fields in changes:
                    stored = table.records[rid]["fields"]
                    for name, value in fields.items():
                        if value is None:
                            stored.pop(name, None)
                        else:
                            stored[name] = value
                    out.append({**wire(table.records[rid]), "id": rid})
                return {"record": out[0]} if action == "update" else {"records": out}

            return update
        # delete / batch_delete
        targets = [record_id] if action == "delete" else body["records"]
        if not all(isinstance(t, str) for t in targets):
            raise _bad("records must be record ids (strings)")
        if action == "delete" and record_id not in table.records:
            raise FeishuError(1254043, "RecordIdNotFound", http_status=404)

        def delete() -> Any:
            results = []
            for rid in targets:
                existed = table.records.pop(str(rid), None) is not None
                results.append({"deleted": existed, "record_id": rid})
            return results[0] if action == "delete" else {"records": results}

        return delete

    def writer(action: str) -> Any:
        async def handler(request: Request) -> Response:
            return await write(request, action)

        return handler

    async def upload_all(request: Request) -> Response:
        authenticate(request, state, kinds=_KINDS)
        form = await request.form()
        parent_type = str(form.get("parent_type") or "")
        upload = form.get("file")
        if (
            not parent_type
            or not form.get("parent_node")
            or upload is None
            or isinstance(upload, str)
        ):
            raise FeishuError(
                1061002, "params error: file_name, parent_type, parent_node, size, file"
            )
        data = await upload.read()
        if str(len(data)) != str(form.get("size")):
            raise FeishuError(1061002, "params error: size does not match the file")
        token = "box" + uuid.uuid4().hex[:20]
        with bstate().lock:
            bstate().uploads[token] = {
                "name": form.get("file_name"),
                "size": len(data),
                "parent_type": parent_type,
                "parent_node": form.get("parent_node"),
            }
        return ok({"file_token": token})

    found: list[BaseRoute] = [
        Route(PREFIX + "/tables", list_tables, methods=["GET"]),
        Route(PREFIX + "/tables", create_table, methods=["POST"]),
        Route(TABLE + "/fields", list_fields, methods=["GET"]),
        Route(TABLE + "/records/search", search, methods=["POST"]),
        Route(TABLE + "/records/batch_get", batch_get, methods=["POST"]),
        Route(TABLE + "/records/batch_create", writer("batch_create"), methods=["POST"]),
        Route(TABLE + "/records/batch_update", writer("batch_update"), methods=["POST"]),
        Route(TABLE + "/records/batch_delete", writer("batch_delete"), methods=["POST"]),
        Route(TABLE + "/records", writer("create"), methods=["POST"]),
        Route(TABLE + "/records", list_records, methods=["GET"]),
        Route(TABLE + "/records/{record_id}", get_record, methods=["GET"]),
        Route(TABLE + "/records/{record_id}", writer("update"), methods=["PUT"]),
        Route(TABLE + "/records/{record_id}", writer("delete"), methods=["DELETE"]),
    ]
    from .app import ROUTE_MODULES  # the app has loaded: no import cycle

    if "lark_service.testing.emulator.routes_drive" not in ROUTE_MODULES:
        found.append(Route("/open-apis/drive/v1/medias/upload_all", upload_all, methods=["POST"]))
    return found
