"""Docx v1 (``openapi-reference.md`` §5): documents, block trees, revisions, edit limits.

| Method | Path | |
| --- | --- | --- |
| POST | ``/open-apis/docx/v1/documents`` | create (``title``, ``folder_token``) |
| GET | ``/open-apis/docx/v1/documents/:document_id`` | title, ``revision_id`` |
| GET | ``…/:document_id/raw_content`` | plain text |
| GET | ``…/:document_id/blocks`` | every block, page first, document order (≤500 a page) |
| GET | ``…/blocks/:block_id`` / ``…/blocks/:block_id/children`` | one block / its children |
| POST | ``…/blocks/:block_id/children`` | create 1-50 children at ``index`` (-1: the end) |
| POST | ``…/blocks/:block_id/descendant`` | create a tree (temporary ids → real ids) |
| PATCH | ``…/blocks/:block_id`` | one update (text, style, image, file, table) |
| PATCH | ``…/blocks/batch_update`` | up to 200 updates |
| DELETE | ``…/blocks/:block_id/children/batch_delete`` | children ``[start, end)`` |
| POST | ``/open-apis/docx/v1/documents/blocks/convert`` | Markdown → blocks |
| POST | ``/open-apis/drive/v1/medias/upload_all`` | docx_image/docx_file uploads (*) |
| POST | ``/open-apis/drive/v1/permissions/:token/members`` | add a member (*) |

(*) only while no ``routes_drive`` module exists: the Drive module serves them once it does.

Every edit takes ``document_revision_id`` (-1 or absent: the latest; an older one answers
1770001 naming the revision, which lark-service raises as a ConflictError) and
``client_token``: an edit repeated with the same token is answered again without being
applied twice. Each applied edit adds one to the revision.

Errors: 1770002 unknown document or block (HTTP 404), 1770032 the app is not a collaborator
(HTTP 403; :meth:`DocxState.share` adds it), 1770001 bad parameters, 1770006 a descendant tree
that does not match ``children_id``, 1770013 media uploaded for another block, 99992402 more
than 50 children in one call, 99991400 the edit limits (HTTP 429 per document, HTTP 400 per
app; switched on by :meth:`DocxState.set_edit_limits`).
"""

from __future__ import annotations

import copy
import importlib.util
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .api import Caller, FeishuError, authenticate, ok, read_json
from .docx_state import DocxDocument, DocxState, MediaUpload, docx_state, new_token
from .state import EmulatorState

__all__ = ["routes", "uploaded_media"]

PREFIX = "/open-apis/docx/v1/documents"
MAX_CHILDREN = 50
MAX_DESCENDANTS = 1000
MAX_PAGE = 500
MAX_BATCH = 200
_KINDS = ("tenant", "user")
_TEXT_KEYS = {
    2: "text",
    **{3 + i: f"heading{i + 1}" for i in range(9)},
    12: "bullet",
    13: "ordered",
    14: "code",
    15: "quote",
    16: "equation",
    17: "todo",
}
_OTHER_KEYS = {
    18: "bitable",
    19: "callout",
    22: "divider",
    23: "file",
    24: "grid",
    25: "grid_column",
    26: "iframe",
    27: "image",
    30: "sheet",
    31: "table",
    32: "table_cell",
    33: "view",
    34: "quote_container",
    35: "task",
}
_PAYLOAD = {**_TEXT_KEYS, **_OTHER_KEYS}


def _invalid(detail: str) -> FeishuError:
    return FeishuError(1770001, f"invalid param, ext={detail}")


_DRIVE_MODULE = "lark_service.testing.emulator.routes_drive"
_DRIVE_STATE = "lark_service.testing.emulator.state_drive"


def _drive_routes_exist() -> bool:
    """Whether the emulator serves Drive from its own module (then it owns the media and
    permission endpoints, and media tokens are its own)."""
    from .app import ROUTE_MODULES

    return _DRIVE_MODULE in ROUTE_MODULES


def uploaded_media(state: EmulatorState, token: str) -> MediaUpload | None:
    """Media uploaded for a document block: by this module, or by the Drive module."""
    found = docx_state(state).media.get(token)
    if found is not None or importlib.util.find_spec(_DRIVE_STATE) is None:
        return found
    drive = importlib.import_module(_DRIVE_STATE).drive_state(state)
    stored = getattr(drive, "files", {}).get(token)
    if stored is None:
        return None
    return MediaUpload(
        token,
        str(getattr(stored, "app_id", "")),
        str(getattr(stored, "parent_type", "")),
        str(getattr(stored, "parent_node", "")),
        str(getattr(stored, "name", "")),
        bytes(getattr(stored, "data", b"")),
    )


def _register_with_drive(state: EmulatorState, document_id: str, app_id: str) -> None:
    """Tell the Drive module's state about a new document (for its permission endpoints)."""
    if importlib.util.find_spec(_DRIVE_STATE) is None:
        return
    module = importlib.import_module(_DRIVE_STATE)
    drive = module.drive_state(state)
    add = getattr(drive, "add_document", None)
    if callable(add):
        add(document_id, "docx", owner_app=app_id)


def _plain(payload: dict[str, Any]) -> str:
    out = []
    for element in payload.get("elements") or []:
        if not isinstance(element, dict):
            continue
        if "text_run" in element:
            out.append(str(element["text_run"].get("content", "")))
        elif "mention_user" in element:
            out.append("@" + str(element["mention_user"].get("user_id", "")))
        elif "mention_doc" in element:
            out.append(str(element["mention_doc"].get("title") or ""))
        elif "equation" in element:
            out.append(str(element["equation"].get("content", "")))
    return "".join(out)


def routes(state: EmulatorState) -> list[BaseRoute]:
    """Docx endpoints (and the two Drive ones documents need, while Drive has no module)."""

    def docx() -> DocxState:
        return docx_state(state)

    def document(request: Request, caller: Caller) -> DocxDocument:
        return docx().document_for(request.path_params["document_id"], caller.app_id)

    def block_of(doc: DocxDocument, block_id: str) -> dict[str, Any]:
        block = doc.blocks.get(block_id)
        if block is None:
            raise FeishuError(1770002, "not found", http_status=404)
        return block

    def revision(request: Request, doc: DocxDocument, *, edit: bool) -> None:
        raw = request.query_params.get("document_revision_id")
        if raw in (None, "", "-1"):
            return
        try:
            value = int(str(raw))
        except ValueError:
            raise _invalid("document_revision_id must be an integer") from None
        if value < 1 or value > doc.revision:
            raise _invalid(f"document_revision_id {value} does not exist")
        if edit and value != doc.revision:
            raise _invalid(
                f"document_revision_id {value} is not the latest revision ({doc.revision})"
            )

    def edit(
        request: Request,
        caller: Caller,
        apply: Callable[[DocxDocument], dict[str, Any]],
    ) -> Response:
        """Rate, revision and client-token handling shared by every edit."""
        state_ = docx()
        with state.lock:
            doc = document(request, caller)
            state_.check_edit_rate(caller.app_id, doc.document_id, state.clock.now())
            token = request.query_params.get("client_token") or ""
            key = (doc.document_id, f"{request.method} {request.url.path} {token}")
            if token and key in state_.answers:
                state_.replayed += 1
                return ok(copy.deepcopy(state_.answers[key]))
            revision(request, doc, edit=True)
            data = apply(doc)
            doc.revision += 1
            state_.edits_applied += 1
            data["document_revision_id"] = doc.revision
            data["client_token"] = token or new_token("", 32)
            if token:
                state_.answers[key] = copy.deepcopy(data)
            lost = state_.take_lost()
        if lost:
            return JSONResponse({"code": 502, "msg": "bad gateway"}, status_code=502)
        return ok(data)

    # -- block building ------------------------------------------------------------------------

    def check_block(raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise _invalid("a block must be an object")
        kind = raw.get("block_type")
        if not isinstance(kind, int) or kind not in _PAYLOAD:
            raise _invalid(f"block_type {kind!r} cannot be created")
        key = _PAYLOAD[kind]
        payload = raw.get(key)
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise _invalid(f"{key} must be an object")
        if kind in _TEXT_KEYS:
            elements = payload.get("elements")
            if not isinstance(elements, list) or not elements:
                raise _invalid(f"{key}.elements must be a non-empty list")
        block: dict[str, Any] = {"block_type": kind, key: copy.deepcopy(payload), "children": []}
        if kind == 27:
            block[key] = {"token": "", "width": 100, "height": 100, "align": 2, **block[key]}
        if kind == 23:
            block[key] = {"token": "", "name": "", **block[key]}
        return block

    def insert(doc: DocxDocument, parent: dict[str, Any], ids: list[str], index: Any) -> None:
        children: list[str] = parent["children"]
        if index is None or index == -1:
            children.extend(ids)
            return
        if not isinstance(index, int) or index < -1 or index > len(children):
            raise _invalid(f"index {index!r} is out of range (0-{len(children)} or -1)")
        children[index:index] = ids

    def place(doc: DocxDocument, block: dict[str, Any], parent_id: str) -> str:
        block_id = new_token("doxcn")
        block["block_id"] = block_id
        block["parent_id"] = parent_id
        doc.blocks[block_id] = block
        return block_id

    def new_cell(doc: DocxDocument, table_id: str) -> str:
        """An empty table cell holding one empty text block."""
        cell: dict[str, Any] = {"block_type": 32, "table_cell": {}, "children": []}
        cell_id = place(doc, cell, table_id)
        text: dict[str, Any] = {
            "block_type": 2,
            "text": {"elements": [{"text_run": {"content": ""}}]},
            "children": [],
        }
        cell["children"].append(place(doc, text, cell_id))
        return cell_id

    def auto_table(doc: DocxDocument, table: dict[str, Any]) -> None:
        """A table created with the children endpoint gets its empty cells, as Feishu does."""
        prop = table["table"].setdefault("property", {})
        rows, cols = int(prop.get("row_size") or 1), int(prop.get("column_size") or 1)
        prop.update(row_size=rows, column_size=cols)
        cells = []
        for _ in range(rows * cols):
            cells.append(new_cell(doc, table["block_id"]))
        table["children"] = cells
        table["table"]["cells"] = list(cells)

    # -- handlers ------------------------------------------------------------------------------

    async def create_document(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        body = await read_json(request, code=1770001, msg="invalid param")
        title = body.get("title", "")
        if not isinstance(title, str) or len(title) > 800:
            raise _invalid("title must be a string of at most 800 characters")
        folder = body.get("folder_token") or ""
        with state.lock:
            doc = docx().add_document(caller.app_id, title, folder_token=str(folder))
            data = doc.to_dict()
            _register_with_drive(state, doc.document_id, caller.app_id)
        return ok({"document": {**data, "display_setting": {}, "cover": None}})

    async def get_document(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        with state.lock:
            doc = document(request, caller)
            return ok({"document": doc.to_dict()})

    async def raw_content(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        with state.lock:
            doc = document(request, caller)
            lines = []
            for block in doc.ordered_blocks()[1:]:
                key = _TEXT_KEYS.get(block["block_type"])
                if key is not None:
                    lines.append(_plain(block.get(key) or {}))
        return ok({"content": "".join(line + "\n" for line in lines)})

    def page(request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
        raw_size = request.query_params.get("page_size") or str(MAX_PAGE)
        try:
            size = int(raw_size)
        except ValueError:
            raise _invalid("page_size must be an integer") from None
        if not 1 <= size <= MAX_PAGE:
            raise _invalid(f"page_size must be between 1 and {MAX_PAGE}")
        token = request.query_params.get("page_token") or ""
        offset = 0
        if token:
            if not token.startswith("pg") or not token[2:].isdigit():
                raise _invalid("page_token is invalid")
            offset = int(token[2:])
        chunk = items[offset : offset + size]
        more = offset + size < len(items)
        answer: dict[str, Any] = {"items": copy.deepcopy(chunk), "has_more": more}
        if more:
            answer["page_token"] = f"pg{offset + size}"
        return answer

    async def list_blocks(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        with state.lock:
            doc = document(request, caller)
            revision(request, doc, edit=False)
            return ok(page(request, doc.ordered_blocks()))

    async def get_block(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        with state.lock:
            doc = document(request, caller)
            revision(request, doc, edit=False)
            block = block_of(doc, request.path_params["block_id"])
            return ok({"block": copy.deepcopy(block)})

    async def get_children(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        with state.lock:
            doc = document(request, caller)
            revision(request, doc, edit=False)
            block = block_of(doc, request.path_params["block_id"])
            items = [doc.blocks[c] for c in block["children"] if c in doc.blocks]
            return ok(page(request, items))

    async def create_children(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        body = await read_json(request, code=1770001, msg="invalid param")
        children = body.get("children")
        if not isinstance(children, list) or not 1 <= len(children) <= MAX_CHILDREN:
            raise FeishuError(
                99992402,
                "field validation failed",
                error={
                    "field_violations": [
                        {
                            "field": "children",
                            "description": f"the number of children must be 1-{MAX_CHILDREN}",
                        }
                    ]
                },
            )
        blocks = [check_block(c) for c in children]

        def apply(doc: DocxDocument) -> dict[str, Any]:
            parent = block_of(doc, request.path_params["block_id"])
            ids = []
            for block in blocks:
                ids.append(place(doc, block, parent["block_id"]))
                if block["block_type"] == 31:
                    auto_table(doc, block)
            insert(doc, parent, ids, body.get("index"))
            return {"children": [copy.deepcopy(doc.blocks[i]) for i in ids]}

        return edit(request, caller, apply)

    async def create_descendant(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        body = await read_json(request, code=1770001, msg="invalid param")
        top = body.get("children_id")
        descendants = body.get("descendants")
        if not isinstance(top, list) or not top or not isinstance(descendants, list):
            raise _invalid("children_id and descendants are required")
        if len(descendants) > MAX_DESCENDANTS:
            raise _invalid(f"at most {MAX_DESCENDANTS} descendants in one call")
        by_temp: dict[str, dict[str, Any]] = {}
        kids: dict[str, list[str]] = {}
        for raw in descendants:
            temp = raw.get("block_id") if isinstance(raw, dict) else None
            if not isinstance(temp, str) or not temp or temp in by_temp:
                raise FeishuError(
                    1770006, "schema mismatch, ext=every descendant needs a unique block_id"
                )
            by_temp[temp] = check_block(raw)
            children = raw.get("children") or []
            if not isinstance(children, list):
                raise FeishuError(1770006, "schema mismatch, ext=children must be a list")
            kids[temp] = [str(c) for c in children]
        reached: list[str] = []
        stack = list(reversed(top))
        while stack:
            temp = stack.pop()
            if temp not in by_temp or temp in reached:
                raise FeishuError(
                    1770006, f"schema mismatch, ext=block {temp} is unknown or repeated"
                )
            reached.append(temp)
            stack.extend(reversed(kids[temp]))
        if len(reached) != len(by_temp):
            raise FeishuError(
                1770006, "schema mismatch, ext=some descendants are not reachable from children_id"
            )

        def apply(doc: DocxDocument) -> dict[str, Any]:
            parent = block_of(doc, request.path_params["block_id"])
            real: dict[str, str] = {}

            def build(temp: str, parent_id: str) -> str:
                block = by_temp[temp]
                block_id = place(doc, block, parent_id)
                real[temp] = block_id
                block["children"] = [build(child, block_id) for child in kids[temp]]
                if block["block_type"] == 31:
                    block["table"]["cells"] = list(block["children"])
                    prop = block["table"].setdefault("property", {})
                    if not block["children"]:
                        auto_table(doc, block)
                    elif (
                        prop.get("row_size")
                        and prop.get("column_size")
                        and int(prop["row_size"]) * int(prop["column_size"])
                        != len(block["children"])
                    ):
                        raise _invalid("a table's cells must number row_size x column_size")
                return block_id

            ids = [build(temp, parent["block_id"]) for temp in top]
            insert(doc, parent, ids, body.get("index"))
            return {
                "children": [copy.deepcopy(doc.blocks[real[t]]) for t in reached],
                "block_id_relations": [
                    {"block_id": real[t], "temporary_block_id": t} for t in reached
                ],
            }

        return edit(request, caller, apply)

    def apply_update(
        doc: DocxDocument, block: dict[str, Any], request_body: dict[str, Any]
    ) -> None:
        ops = [k for k in request_body if k != "block_id"]
        if len(ops) != 1:
            raise _invalid("exactly one update operation per block")
        op, value = ops[0], request_body[ops[0]]
        if not isinstance(value, dict):
            raise _invalid(f"{op} must be an object")
        kind = block["block_type"]
        key = _TEXT_KEYS.get(kind) or ("page" if kind == 1 else None)
        if op in ("update_text_elements", "update_text", "update_text_style"):
            if key is None:
                raise FeishuError(1770025, "operation and block not match")
            payload = block.setdefault(key, {})
            if op != "update_text_style":
                elements = value.get("elements")
                if not isinstance(elements, list) or not elements:
                    raise _invalid("elements must be a non-empty list")
                payload["elements"] = copy.deepcopy(elements)
            if op != "update_text_elements" and isinstance(value.get("style"), dict):
                payload.setdefault("style", {}).update(copy.deepcopy(value["style"]))
            return
        if op in ("replace_image", "replace_file"):
            want = 27 if op == "replace_image" else 23
            if kind != want:
                raise FeishuError(1770025, "operation and block not match")
            token = value.get("token")
            if not isinstance(token, str) or not token:
                raise _invalid("token is required")
            media = uploaded_media(state, token)
            if media is None or media.parent_node != block["block_id"]:
                raise FeishuError(1770013, "relation mismatch")
            payload = block.setdefault(_PAYLOAD[kind], {})
            payload["token"] = token
            if media is not None and kind == 23:
                payload["name"] = media.file_name
            return
        if kind != 31:
            raise FeishuError(1770025, "operation and block not match")
        prop = block["table"].setdefault("property", {})
        if op == "update_table_property":
            for name in ("header_row", "header_column"):
                if name in value:
                    prop[name] = bool(value[name])
            if "column_width" in value and "column_index" in value:
                widths = prop.setdefault("column_width", [100] * int(prop.get("column_size", 1)))
                index = int(value["column_index"])
                if not 0 <= index < len(widths):
                    raise _invalid("column_index is out of range")
                widths[index] = int(value["column_width"])
            return
        if op in ("insert_table_row", "delete_table_rows"):
            rows, cols = int(prop.get("row_size", 0)), int(prop.get("column_size", 0))
            cells: list[str] = block["children"]
            if op == "insert_table_row":
                at = value.get("row_index", -1)
                at = rows if at == -1 else at
                if not isinstance(at, int) or not 0 <= at <= rows:
                    raise _invalid("row_index is out of range")
                new = []
                for _ in range(cols):
                    new.append(new_cell(doc, block["block_id"]))
                cells[at * cols : at * cols] = new
                prop["row_size"] = rows + 1
            else:
                start, end = value.get("row_start_index"), value.get("row_end_index")
                if not (
                    isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= rows
                ):
                    raise _invalid("row_start_index/row_end_index are out of range")
                for cell_id in cells[start * cols : end * cols]:
                    doc.remove_tree(cell_id)
                del cells[start * cols : end * cols]
                prop["row_size"] = rows - (end - start)
            block["table"]["cells"] = list(cells)
            return
        raise _invalid(f"{op} is not supported by the emulator")

    async def patch_block(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        body = await read_json(request, code=1770001, msg="invalid param")

        def apply(doc: DocxDocument) -> dict[str, Any]:
            block = block_of(doc, request.path_params["block_id"])
            apply_update(doc, block, body)
            return {"block": copy.deepcopy(block)}

        return edit(request, caller, apply)

    async def batch_update(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        body = await read_json(request, code=1770001, msg="invalid param")
        requests_ = body.get("requests")
        if not isinstance(requests_, list) or not 1 <= len(requests_) <= MAX_BATCH:
            raise _invalid(f"requests must hold 1-{MAX_BATCH} updates")

        def apply(doc: DocxDocument) -> dict[str, Any]:
            updated = []
            for item in requests_:
                if not isinstance(item, dict) or not isinstance(item.get("block_id"), str):
                    raise _invalid("every request needs a block_id")
                block = block_of(doc, item["block_id"])
                apply_update(doc, block, item)
                updated.append(copy.deepcopy(block))
            return {"blocks": updated}

        return edit(request, caller, apply)

    async def batch_delete(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        body = await read_json(request, code=1770001, msg="invalid param")
        start, end = body.get("start_index"), body.get("end_index")

        def apply(doc: DocxDocument) -> dict[str, Any]:
            parent = block_of(doc, request.path_params["block_id"])
            children: list[str] = parent["children"]
            if not (
                isinstance(start, int)
                and isinstance(end, int)
                and 0 <= start < end <= len(children)
            ):
                raise _invalid(
                    f"start_index/end_index must satisfy 0 <= start < end <= {len(children)}"
                )
            for child in children[start:end]:
                doc.remove_tree(child)
            del children[start:end]
            return {}

        return edit(request, caller, apply)

    async def convert(request: Request) -> Response:
        authenticate(request, state, kinds=_KINDS)
        body = await read_json(request, code=1770001, msg="invalid param")
        if body.get("content_type") != "markdown":
            raise _invalid("the emulator converts content_type markdown only")
        content = body.get("content")
        if not isinstance(content, str) or not content:
            raise _invalid("content is required")
        from ...docs.markdown import markdown_to_blocks
        from ...errors import ValidationError

        try:
            new_blocks = markdown_to_blocks(content, base_dir="/nonexistent")
        except ValidationError as exc:
            raise _invalid(str(exc.msg)) from None
        counter = iter(range(1, 1_000_000))
        out: list[dict[str, Any]] = []

        def emit(block: Any) -> str:
            temp = f"cvt_{next(counter)}"
            entry = {"block_id": temp, **block.to_wire(), "children": []}
            out.append(entry)
            entry["children"] = [emit(child) for child in block.children]
            return temp

        first = [emit(block) for block in new_blocks]
        return ok({"first_level_block_ids": first, "blocks": out, "block_id_to_image_urls": []})

    async def upload_media(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        form = await request.form()
        fields = {k: v for k, v in form.items()}
        raw = fields.get("file")
        if raw is None:
            raise FeishuError(1061002, "params error, ext=file is required")
        data = await raw.read() if hasattr(raw, "read") else str(raw).encode("utf-8")
        parent_type = str(fields.get("parent_type", ""))
        parent_node = str(fields.get("parent_node", ""))
        name = str(fields.get("file_name", ""))
        size = str(fields.get("size", ""))
        if parent_type not in ("docx_image", "docx_file") or not parent_node or not name:
            raise FeishuError(1061002, "params error")
        if not size.isdigit() or int(size) != len(data) or not data:
            raise FeishuError(1061002, "params error, ext=size does not match the file")
        if len(data) > 20 * 1024 * 1024:
            raise FeishuError(1061002, "params error, ext=file is over 20 MB")
        with state.lock:
            owner = next((d for d in docx().documents.values() if parent_node in d.blocks), None)
            if owner is None:
                raise FeishuError(1061003, "not found", http_status=404)
            if caller.app_id not in owner.apps:
                raise FeishuError(1061004, "forbidden", http_status=403)
            token = new_token("box")
            docx().media[token] = MediaUpload(
                token, caller.app_id, parent_type, parent_node, name, bytes(data)
            )
        return ok({"file_token": token})

    async def add_member(request: Request) -> Response:
        caller = authenticate(request, state, kinds=_KINDS)
        body = await read_json(request, code=1063001, msg="Invalid parameter")
        token = request.path_params["token"]
        member_type = body.get("member_type")
        member_id = body.get("member_id")
        perm = body.get("perm")
        if request.query_params.get("type") not in (
            "doc",
            "docx",
            "sheet",
            "bitable",
            "file",
            "folder",
            "wiki",
            "mindnote",
            "slides",
        ):
            raise FeishuError(1063001, "Invalid parameter, ext=type")
        if (
            perm not in ("view", "edit", "full_access")
            or not isinstance(member_id, str)
            or not member_type
        ):
            raise FeishuError(1063001, "Invalid parameter")
        with state.lock:
            doc = docx().documents.get(token)
            if doc is None:
                raise FeishuError(1063005, "Resource is deleted or not exist", http_status=404)
            if caller.app_id not in doc.apps:
                raise FeishuError(1063002, "Permission denied", http_status=403)
            member = {"member_type": member_type, "member_id": member_id, "perm": perm}
            doc.members = [m for m in doc.members if m["member_id"] != member_id] + [member]
        return ok(
            {"member": {**member, "perm_type": "container", "type": body.get("type") or "user"}}
        )

    found: list[BaseRoute] = [
        Route(PREFIX, create_document, methods=["POST"]),
        Route(PREFIX + "/blocks/convert", convert, methods=["POST"]),
        Route(PREFIX + "/{document_id}", get_document, methods=["GET"]),
        Route(PREFIX + "/{document_id}/raw_content", raw_content, methods=["GET"]),
        Route(PREFIX + "/{document_id}/blocks", list_blocks, methods=["GET"]),
        Route(PREFIX + "/{document_id}/blocks/batch_update", batch_update, methods=["PATCH"]),
        Route(PREFIX + "/{document_id}/blocks/{block_id}", get_block, methods=["GET"]),
        Route(PREFIX + "/{document_id}/blocks/{block_id}", patch_block, methods=["PATCH"]),
        Route(PREFIX + "/{document_id}/blocks/{block_id}/children", get_children, methods=["GET"]),
        Route(
            PREFIX + "/{document_id}/blocks/{block_id}/children", create_children, methods=["POST"]
        ),
        Route(
            PREFIX + "/{document_id}/blocks/{block_id}/descendant",
            create_descendant,
            methods=["POST"],
        ),
        Route(
            PREFIX + "/{document_id}/blocks/{block_id}/children/batch_delete",
            batch_delete,
            methods=["DELETE"],
        ),
    ]
    if not _drive_routes_exist():
        found += [
            Route("/open-apis/drive/v1/medias/upload_all", upload_media, methods=["POST"]),
            Route("/open-apis/drive/v1/permissions/{token}/members", add_member, methods=["POST"]),
        ]
    return found
