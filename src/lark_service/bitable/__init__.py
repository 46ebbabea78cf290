"""Bitable (Base): typed records with filters and paging, bulk writes at Feishu's limit
(``client.bitable``). See ``docs/bitable.md``."""

from .fields import Attachment, FieldType, Link, Url, User, decode_value, encode_value
from .filter import OPERATORS, Condition, F, Group
from .models import BatchItem, BatchResult, Record, Table, TableField, TableSchema
from .tabular import from_dataframe, from_records, read_csv, to_dataframe, to_records, write_csv

__all__ = [
    "OPERATORS",
    "Attachment",
    "BatchItem",
    "BatchResult",
    "Condition",
    "F",
    "FieldType",
    "Group",
    "Link",
    "Record",
    "Table",
    "TableField",
    "TableSchema",
    "Url",
    "User",
    "decode_value",
    "encode_value",
    "from_dataframe",
    "from_records",
    "read_csv",
    "to_dataframe",
    "to_records",
    "write_csv",
]
