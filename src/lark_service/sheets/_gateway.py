"""Gateway operations of ``client.sheets``: create a spreadsheet, read, write and append
values (ranges such as ``Sheet1!A1:C10``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..gateway import GatewayBody, GatewayQuery, examples, expose

__all__ = ["OPERATIONS"]

_VALUES = "/sheets/{spreadsheet_token}/values/{range}"


class CreateBody(GatewayBody):
    model_config = examples({"title": "Q3 numbers"})

    title: str | None = Field(default=None, max_length=255)
    folder_token: str | None = Field(default=None, min_length=1, max_length=128)


class ReadQuery(GatewayQuery):
    render: Literal["ToString", "FormattedValue", "Formula", "UnformattedValue"] | None = None
    dates: Literal["serial", "formatted"] = "serial"


class ValuesBody(GatewayBody):
    model_config = examples({"values": [["Name", "Score"], ["Alice", 93]]})

    values: list[list[Any]] = Field(min_length=1, max_length=100_000)


class AppendBody(ValuesBody):
    insert_rows: bool = False


_READ = ["sheets:read"]
_WRITE = ["sheets:write"]

OPERATIONS = [
    expose("POST", "/sheets", "create_spreadsheet", scopes=_WRITE, body=CreateBody,
           summary="Create a spreadsheet"),
    expose("GET", _VALUES, "get_sheet_data", scopes=_READ, query=ReadQuery,
           summary="The values of a range"),
    expose("PUT", _VALUES, "update_sheet_data", scopes=_WRITE, body=ValuesBody,
           summary="Write values into a range (chunked)"),
    expose("POST", _VALUES + "/append", "append_sheet_data", scopes=_WRITE, body=AppendBody,
           summary="Append rows below a range's data"),
]  # fmt: skip
