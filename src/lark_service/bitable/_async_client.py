"""``client.bitable``: tables, the field schema, records, lazy queries and bulk writes.

Paths are ``/open-apis/bitable/v1/apps/:app_token/tables/:table_id/...``
(``openapi-reference.md`` §7). Writes to one table take the pipeline's ``bitable.write``
lease (one writer per table per process, retries included); each write carries a
``client_token`` made once and reused by every retry, so a retried write never duplicates
records.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import _concurrency, errors
from .._async_pagination import AsyncPager
from .._async_resource import AsyncResource
from .._http import ApiResponse
from .._paths import api_path
from ._helpers import (
    _IMAGE_TYPES,
    _LIST_PAGE,
    BATCH_SIZE,
    PAGE_SIZE,
    RecordProgress,
    SchemaArg,
    _chunk_items,
    _create_fields,
    _delete_id,
    _local_files,
    _names,
    _read_file,
    _record,
    _rows,
    _sort,
    _text_id,
    _token,
    _update_fields,
)
from .fields import FieldType, encode_fields
from .filter import filter_body
from .models import BatchItem, BatchResult, Record, Table, TableField, TableSchema
from .tabular import CsvWriter, iter_csv

__all__ = ["BATCH_SIZE", "PAGE_SIZE", "AsyncBitableClient", "RecordProgress"]

_APPS = "/open-apis/bitable/v1/apps/{app_token}"
_TABLE = _APPS + "/tables/{table_id}"
_UPLOAD = "/open-apis/drive/v1/medias/upload_all"


class AsyncBitableClient(AsyncResource):
    """Bitable (Base): tables, fields, records, queries and bulk writes."""

    # -- tables and fields -------------------------------------------------------------------

    def list_tables(self, app_token: str, *, app_id: str | None = None) -> AsyncPager[Table]:
        """Every table of a base, as a lazy pager.

        ``GET /open-apis/bitable/v1/apps/:app_token/tables`` (100 per page). Raises
        NotFoundError (unknown base), PermissionDeniedError (the app has no access) when
        iterated.
        """
        return self._paginate(
            api_path(_APPS + "/tables", app_token=app_token),
            lambda response, item: Table.from_response(response, item),
            options=self._opts(app_id=app_id),
            page_size=_LIST_PAGE,
        )

    async def list_fields(
        self,
        app_token: str,
        table_id: str,
        *,
        view_id: str | None = None,
        app_id: str | None = None,
    ) -> TableSchema:
        """The table's typed field schema (every page).

        ``GET …/tables/:table_id/fields``. Raises NotFoundError (base, table or view).
        """
        params = {"view_id": view_id} if view_id else {}
        pager = self._paginate(
            api_path(_TABLE + "/fields", app_token=app_token, table_id=table_id),
            lambda response, item: TableField.from_response(response, item),
            options=self._opts(app_id=app_id),
            params=params,
            page_size=_LIST_PAGE,
        )
        return TableSchema(tuple(await pager.to_list()))

    # -- one record --------------------------------------------------------------------------

    async def create_record(
        self,
        app_token: str,
        table_id: str,
        fields: Mapping[str, Any],
        *,
        schema: SchemaArg = None,
        client_token: str | None = None,
        app_id: str | None = None,
    ) -> Record:
        """Create one record from ``{field name: value}`` (values typed as
        :mod:`~lark_service.bitable.fields` says; local files in attachment fields uploaded).

        ``POST …/records`` with a ``client_token`` reused by every retry. Raises
        ValidationError (a value its field cannot hold) before sending; NotFoundError,
        InvalidParameterError (1254060-1254067: Feishu could not convert a value).
        """
        path = api_path(_TABLE + "/records", app_token=app_token, table_id=table_id)
        types = await self._types(app_token, table_id, schema, app_id)
        body = {"fields": await self._encode(app_token, fields, types, app_id, {})}
        response = await self._request(
            "POST",
            path,
            options=self._opts(app_id=app_id),
            params={"user_id_type": "open_id", "client_token": client_token or _token()},
            json=body,
        )
        return _record(response, response.data.get("record") or {}, types)

    async def get_record(
        self,
        app_token: str,
        table_id: str,
        record_id: str,
        *,
        schema: SchemaArg = None,
        app_id: str | None = None,
    ) -> Record:
        """One record. ``GET …/records/:record_id``. Raises NotFoundError."""
        path = api_path(
            _TABLE + "/records/{record_id}",
            app_token=app_token,
            table_id=table_id,
            record_id=record_id,
        )
        types = await self._types(app_token, table_id, schema, app_id)
        response = await self._request(
            "GET", path, options=self._opts(app_id=app_id), params={"user_id_type": "open_id"}
        )
        return _record(response, response.data.get("record") or {}, types)

    async def update_record(
        self,
        app_token: str,
        table_id: str,
        record_id: str,
        fields: Mapping[str, Any],
        *,
        schema: SchemaArg = None,
        app_id: str | None = None,
    ) -> Record:
        """Change some fields of one record (fields not named are kept).

        ``PUT …/records/:record_id`` with a ``client_token``. Raises ValidationError before
        sending, NotFoundError (unknown record).
        """
        path = api_path(
            _TABLE + "/records/{record_id}",
            app_token=app_token,
            table_id=table_id,
            record_id=record_id,
        )
        types = await self._types(app_token, table_id, schema, app_id)
        body = {"fields": await self._encode(app_token, fields, types, app_id, {})}
        response = await self._request(
            "PUT",
            path,
            options=self._opts(app_id=app_id),
            params={"user_id_type": "open_id", "client_token": _token()},
            json=body,
        )
        return _record(response, response.data.get("record") or {}, types)

    async def delete_record(
        self, app_token: str, table_id: str, record_id: str, *, app_id: str | None = None
    ) -> bool:
        """Delete one record; True when Feishu says it was deleted.

        ``DELETE …/records/:record_id``. Raises NotFoundError (unknown record).
        """
        path = api_path(
            _TABLE + "/records/{record_id}",
            app_token=app_token,
            table_id=table_id,
            record_id=record_id,
        )
        response = await self._request("DELETE", path, options=self._opts(app_id=app_id))
        return bool(response.data.get("deleted", True))

    # -- queries -----------------------------------------------------------------------------

    def query_records(
        self,
        app_token: str,
        table_id: str,
        *,
        filter: Any = None,
        sort: Any = None,
        field_names: Sequence[str] | None = None,
        view_id: str | None = None,
        schema: TableSchema | None = None,
        page_size: int = PAGE_SIZE,
        app_id: str | None = None,
    ) -> AsyncPager[Record]:
        """Records matching ``filter`` (built with :class:`~lark_service.bitable.F`, or
        Feishu's filter object), in ``sort`` order, as a lazy pager over every page.

        ``sort``: ``"Score"``, ``"-Score"`` (descending), a list of those, or Feishu's
        ``[{"field_name", "desc"}]``. With ``schema`` (from :meth:`list_fields`) the filter
        is checked against the table's fields and values are typed by it (dates as
        ``datetime``). ``POST …/records/search`` (500 per page). Raises ValidationError at
        once (bad filter, sort, field names); NotFoundError when iterated.
        """
        path = api_path(_TABLE + "/records/search", app_token=app_token, table_id=table_id)
        body: dict[str, Any] = {}
        wire_filter = filter_body(filter, schema)
        if wire_filter is not None:
            body["filter"] = wire_filter
        sort_body = _sort(sort, schema)
        if sort_body:
            body["sort"] = sort_body
        if field_names is not None:
            body["field_names"] = _names(field_names, schema)
        if view_id is not None:
            body["view_id"] = _text_id(view_id, "view_id")
        if not isinstance(page_size, int) or not 1 <= page_size <= PAGE_SIZE:
            raise errors.ValidationError(
                f"page_size must be an int from 1 to {PAGE_SIZE}", field="page_size"
            )
        types = schema.types if schema is not None else None
        return self._paginate(
            path,
            lambda response, item: _record(response, item, types),
            options=self._opts(app_id=app_id),
            params={"user_id_type": "open_id"},
            page_size=page_size,
            method="POST",
            json=body,
        )

    # -- bulk writes -------------------------------------------------------------------------

    async def batch_create_records(
        self,
        app_token: str,
        table_id: str,
        records: Iterable[Mapping[str, Any]] | Any,
        *,
        schema: SchemaArg = None,
        progress: RecordProgress | None = None,
        app_id: str | None = None,
    ) -> BatchResult:
        """Create any number of records: plain ``{field: value}`` dicts, Feishu's
        ``{"fields": {...}}``, or a pandas DataFrame.

        ``POST …/records/batch_create`` in chunks of 500, one after another (one writer per
        table), each with its own ``client_token`` reused by its retries. Never raises for
        a failed chunk: its records carry the error (:class:`BatchResult`). Raises
        ValidationError for records that are not a list of dicts before sending; a record
        whose value its field cannot hold fails alone (not sent).
        """
        rows = _rows(records)
        prepared = [_create_fields(row) for row in rows]
        return await self._write(
            app_token, table_id, "batch_create", prepared, schema, progress, app_id
        )

    async def batch_update_records(
        self,
        app_token: str,
        table_id: str,
        records: Iterable[Any],
        *,
        schema: SchemaArg = None,
        progress: RecordProgress | None = None,
        app_id: str | None = None,
    ) -> BatchResult:
        """Update any number of records: ``{"record_id": …, "fields": {...}}`` dicts,
        ``(record_id, fields)`` pairs or :class:`Record` objects.

        ``POST …/records/batch_update`` in chunks of 500, as :meth:`batch_create_records`.
        """
        prepared = [_update_fields(item) for item in _rows(records)]
        return await self._write(
            app_token, table_id, "batch_update", prepared, schema, progress, app_id
        )

    async def batch_delete_records(
        self,
        app_token: str,
        table_id: str,
        record_ids: Iterable[Any],
        *,
        progress: RecordProgress | None = None,
        app_id: str | None = None,
    ) -> BatchResult:
        """Delete any number of records (record ids, ``{"record_id"}`` dicts or Records).

        ``POST …/records/batch_delete`` in chunks of 500, one after another.
        """
        if isinstance(record_ids, (str, bytes)):
            raise errors.ValidationError(
                "record_ids must be a list of record ids, not a single str", field="record_ids"
            )
        prepared = [_delete_id(item) for item in record_ids]
        return await self._write(
            app_token, table_id, "batch_delete", prepared, None, progress, app_id
        )

    async def batch_create_many(
        self,
        tables: Mapping[tuple[str, str], Iterable[Mapping[str, Any]] | Any],
        *,
        concurrency: int = 4,
        app_id: str | None = None,
    ) -> dict[tuple[str, str], BatchResult]:
        """:meth:`batch_create_records` for several tables at once: ``{(app_token,
        table_id): records}``. Different tables are written in parallel (``concurrency`` at
        a time); each table's chunks one after another."""
        if not isinstance(concurrency, int) or concurrency < 1:
            raise errors.ValidationError("concurrency must be an int >= 1", field="concurrency")
        jobs = list(tables.items())

        async def one(job: tuple[tuple[str, str], Any]) -> BatchResult:
            (app_token, table_id), records = job
            return await self.batch_create_records(app_token, table_id, records, app_id=app_id)

        results = await _concurrency.async_map_bounded(one, jobs, concurrency)
        return {key: result for (key, _), result in zip(jobs, results, strict=True)}

    # -- CSV ---------------------------------------------------------------------------------

    async def import_csv(
        self,
        app_token: str,
        table_id: str,
        file: str | os.PathLike[str],
        *,
        progress: RecordProgress | None = None,
        app_id: str | None = None,
    ) -> BatchResult:
        """Create one record per CSV row (a header line names the fields), each cell typed
        by the table's field schema (``"42"`` for a number, ISO dates, ``a;b`` for a multi
        select, open_ids for people, file paths for attachments).

        ``GET …/fields`` once, then :meth:`batch_create_records`. Raises ValidationError
        (not a file, a header naming a field the table lacks) before writing.
        """
        schema = await self.list_fields(app_token, table_id, app_id=app_id)
        rows = await _concurrency.async_blocking(lambda: list(iter_csv(file)))
        unknown = sorted({k for row in rows for k in row} - set(schema.names))
        if unknown:
            raise errors.ValidationError(
                f"{Path(file).name}: the table has no field {', '.join(map(repr, unknown))}; "
                f"its fields are {', '.join(schema.names)}",
                field="file",
            )
        return await self.batch_create_records(
            app_token, table_id, rows, schema=schema, progress=progress, app_id=app_id
        )

    async def export_csv(
        self,
        app_token: str,
        table_id: str,
        file: str | os.PathLike[str],
        *,
        filter: Any = None,
        sort: Any = None,
        field_names: Sequence[str] | None = None,
        view_id: str | None = None,
        with_id: bool = False,
        progress: Callable[[int], None] | None = None,
        app_id: str | None = None,
    ) -> int:
        """Write the matching records to a CSV file, page by page (one page in memory);
        the number of records written. ``progress(records_so_far)`` after each page.

        ``GET …/fields`` (the columns, in table order), then ``POST …/records/search``.
        """
        schema = await self.list_fields(app_token, table_id, app_id=app_id)
        columns = list(field_names) if field_names is not None else schema.names
        if with_id:
            columns = ["record_id", *columns]
        pager = self.query_records(
            app_token,
            table_id,
            filter=filter,
            sort=sort,
            field_names=field_names,
            view_id=view_id,
            schema=schema,
            app_id=app_id,
        )
        writer = await _concurrency.async_blocking(CsvWriter, file, columns)
        try:
            async for page in pager.pages():
                rows = [{**record.values, "record_id": record.record_id} for record in page]
                written = await _concurrency.async_blocking(writer.write_rows, rows)
                if progress is not None:
                    progress(written)
        finally:
            writer.close()
        return writer.count

    # -- internals ---------------------------------------------------------------------------

    async def _types(
        self, app_token: str, table_id: str, schema: SchemaArg, app_id: str | None
    ) -> dict[str, int] | None:
        if schema is True:
            return (await self.list_fields(app_token, table_id, app_id=app_id)).types
        if isinstance(schema, TableSchema):
            return schema.types
        if schema not in (None, False):
            raise errors.ValidationError(
                "schema must be a TableSchema (from list_fields), True to fetch it, or None",
                field="schema",
            )
        return None

    async def _encode(
        self,
        app_token: str,
        fields: Mapping[str, Any],
        types: Mapping[str, int] | None,
        app_id: str | None,
        uploaded: dict[str, str],
    ) -> dict[str, Any]:
        """``fields`` encoded for the wire, local files uploaded first."""
        if not isinstance(fields, Mapping):
            raise errors.ValidationError(
                f"fields must be a dict of field name to value, not {type(fields).__name__}",
                field="fields",
            )
        ready: dict[str, Any] = {}
        for name, value in fields.items():
            kind = (types or {}).get(name)
            files = _local_files(value, kind == FieldType.ATTACHMENT)
            if files is None:
                ready[name] = value
                continue
            tokens = []
            for file in files:
                key = str(file.resolve())
                if key not in uploaded:
                    uploaded[key] = await self._upload(app_token, file, app_id)
                tokens.append({"file_token": uploaded[key]})
            ready[name] = tokens
        return encode_fields(ready, types)

    async def _upload(self, app_token: str, file: Path, app_id: str | None) -> str:
        """Upload a local file for an attachment field; its ``file_token``.

        ``POST /open-apis/drive/v1/medias/upload_all`` (``parent_type`` ``bitable_image``
        for images, else ``bitable_file``; ``parent_node`` the base). Not retried after a
        failure Feishu may have processed.
        """
        data = await _concurrency.async_blocking(_read_file, file)
        mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        parent_type = "bitable_image" if mime in _IMAGE_TYPES else "bitable_file"
        response = await self._request(
            "POST",
            _UPLOAD,
            options=self._opts(app_id=app_id, idempotent=False),
            data={
                "file_name": file.name,
                "parent_type": parent_type,
                "parent_node": app_token,
                "size": str(len(data)),
            },
            files={"file": (file.name, data, mime)},
        )
        token = response.data.get("file_token")
        if not isinstance(token, str) or not token:
            raise errors.ServerError(
                "Feishu's upload answer has no file_token",
                request_id=response.request_id,
                log_id=response.log_id,
            )
        return token

    async def _write(
        self,
        app_token: str,
        table_id: str,
        action: str,
        prepared: list[Any],
        schema: SchemaArg,
        progress: RecordProgress | None,
        app_id: str | None,
    ) -> BatchResult:
        if progress is not None and not callable(progress):
            raise errors.ValidationError("progress must be callable", field="progress")
        path = api_path(_TABLE + "/records/" + action, app_token=app_token, table_id=table_id)
        types = await self._types(app_token, table_id, schema, app_id) if prepared else None
        total = len(prepared)
        items: list[BatchItem | None] = [None] * total
        pending: list[tuple[int, Any]] = []
        uploaded: dict[str, str] = {}
        for index, entry in enumerate(prepared):
            if isinstance(entry, errors.ValidationError):
                items[index] = BatchItem(index, error=entry)
                continue
            try:
                pending.append(
                    (index, await self._wire(app_token, action, entry, types, app_id, uploaded))
                )
            except errors.ValidationError as exc:
                items[index] = BatchItem(index, error=exc)
        done = total - len(pending)
        calls = 0
        for at in range(0, len(pending), BATCH_SIZE):
            chunk = pending[at : at + BATCH_SIZE]
            calls += 1
            answer = await self._send_chunk(path, action, chunk, app_id)
            chunk_items = _chunk_items(action, chunk, answer, types)
            for item in chunk_items:
                items[item.index] = item
            done += len(chunk)
            if progress is not None:
                progress(chunk_items, done, total)
        return BatchResult(items=[i for i in items if i is not None], calls=calls)

    async def _wire(
        self,
        app_token: str,
        action: str,
        entry: Any,
        types: Mapping[str, int] | None,
        app_id: str | None,
        uploaded: dict[str, str],
    ) -> Any:
        if action == "batch_delete":
            return entry
        if action == "batch_update":
            record_id, fields = entry
            return {
                "record_id": record_id,
                "fields": await self._encode(app_token, fields, types, app_id, uploaded),
            }
        return {"fields": await self._encode(app_token, entry, types, app_id, uploaded)}

    async def _send_chunk(
        self, path: str, action: str, chunk: list[tuple[int, Any]], app_id: str | None
    ) -> ApiResponse | errors.LarkError:
        # a batch write reports a chunk's failure in its records instead of raising: the
        # one place in the domain that catches (the pipeline has already retried)
        params: dict[str, Any] = {"user_id_type": "open_id"}
        if action != "batch_delete":
            params["client_token"] = _token()  # made once: every retry of the chunk reuses it
        body = {"records": [wire for _, wire in chunk]}
        try:
            return await self._request(
                "POST", path, options=self._opts(app_id=app_id), params=params, json=body
            )
        except errors.LarkError as exc:
            return exc
