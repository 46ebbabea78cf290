"""Re-encrypt every stored secret under the first key, the middle step of a key rotation."""

from __future__ import annotations

from sqlalchemy import select, update

from ..errors import EncryptionKeyError
from .crypto import SecretBox
from .migrate import METADATA, Which, ensure_schema

__all__ = ["reencrypt"]


def reencrypt(url: str, which: Which, box: SecretBox) -> int:
    """Rewrite every ``*_enc`` column of ``which`` under ``box``'s first key; return the count.

    One transaction: either every value is re-encrypted or none is. Raises
    :class:`~lark_service.errors.EncryptionKeyError` naming the table and row (never the
    value) when no key of ``box`` opens a value.
    """
    engine = ensure_schema(url, which)
    count = 0
    with engine.begin() as conn:
        for table in METADATA[which].sorted_tables:
            encrypted = [c for c in table.columns if c.name.endswith("_enc")]
            if not encrypted:
                continue
            keys = list(table.primary_key.columns)
            for row in conn.execute(select(*keys, *encrypted)).mappings().all():
                where = [key == row[key.name] for key in keys]
                values: dict[str, str] = {}
                for column in encrypted:
                    if row[column.name] is None:
                        continue
                    try:
                        values[column.name] = box.rotate(row[column.name])
                    except EncryptionKeyError as exc:
                        ident = ", ".join(f"{k.name}={row[k.name]!r}" for k in keys)
                        raise EncryptionKeyError(
                            f"{table.name}.{column.name} ({ident}): {exc.msg}", hint=exc.hint
                        ) from None
                conn.execute(update(table).where(*where).values(values))
                count += len(values)
    return count
