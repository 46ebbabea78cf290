"""Pure helpers for Drive uploads and downloads: sources, size and type checks, part plans,
adler32 checksums, resumable upload state, temp files for atomic downloads.

Nothing here talks to Feishu. The resource (``_async_client.py``) reads parts through
:class:`UploadSource` (a path is read part by part, never whole), plans them with
:func:`plan_parts`, checksums each with :func:`adler32` and records progress in an
:class:`UploadState` that can be saved to a JSON file to resume within the upload id's 24 h.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, Union

from .._paths import safe_file_name
from ..errors import ValidationError

__all__ = [
    "BLOCK_SIZE",
    "MAX_FILE_NAME",
    "MAX_UPLOAD_BYTES",
    "MEDIA_PARENT_TYPES",
    "UPLOAD_ALL_LIMIT",
    "UPLOAD_ID_TTL",
    "Part",
    "Source",
    "UploadSource",
    "UploadState",
    "adler32",
    "disposition_name",
    "file_adler32",
    "open_temp_beside",
    "plan_parts",
]

UPLOAD_ALL_LIMIT = 20 * 1024 * 1024
"""Bytes ``upload_all`` takes (20971520); larger uploads use prepare / part / finish."""
BLOCK_SIZE = 4 * 1024 * 1024
"""The part size Feishu's ``upload_prepare`` answers (4 MB); the answer's own value wins."""
MAX_UPLOAD_BYTES = 20 * 1024 * 1024 * 1024
"""The largest upload lark-service attempts (20 GB, Drive's documented file limit; unverified
for media)."""
MAX_FILE_NAME = 250
"""Characters of ``file_name`` Feishu accepts."""
UPLOAD_ID_TTL = 24 * 3600.0
"""Seconds an ``upload_id`` stays usable after ``upload_prepare``."""
MEDIA_PARENT_TYPES: tuple[str, ...] = (
    "doc_image",
    "docx_image",
    "sheet_image",
    "doc_file",
    "docx_file",
    "sheet_file",
    "bitable_image",
    "bitable_file",
    "vc_virtual_background",
    "moments",
    "ccm_import_open",
)

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO, IO[bytes]]
"""A path, the bytes themselves, or a binary file object (seekable for large uploads)."""


def adler32(data: bytes | memoryview, value: int = 1) -> int:
    """The adler32 of ``data`` (continuing ``value`` for a running checksum)."""
    return zlib.adler32(data, value) & 0xFFFFFFFF


def file_adler32(path: str | os.PathLike[str], chunk: int = 1 << 20) -> int:
    """The adler32 of a whole file, read ``chunk`` bytes at a time."""
    value = 1
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            value = adler32(block, value)
    return value


@dataclass(frozen=True)
class Part:
    """One part of a multipart upload: ``seq`` (0-based), where it starts and its size."""

    seq: int
    offset: int
    size: int


def plan_parts(size: int, block_size: int = BLOCK_SIZE) -> list[Part]:
    """The parts of a ``size``-byte upload in blocks of ``block_size`` (the last is shorter)."""
    if size <= 0:
        raise ValidationError("an upload needs at least one byte", field="size")
    if block_size <= 0:
        raise ValidationError("block_size must be positive", field="block_size")
    return [
        Part(seq, offset, min(block_size, size - offset))
        for seq, offset in enumerate(range(0, size, block_size))
    ]


class UploadSource:
    """An upload's bytes: a path (read part by part), bytes, or a binary file object.

    ``size`` and ``file_name`` are known before any request; :meth:`read` returns one range.
    """

    def __init__(self, source: Source, *, file_name: str | None = None, what: str = "file") -> None:
        self.what = what
        self._path: Path | None = None
        self._data: bytes | None = None
        self._fh: IO[bytes] | None = None
        name: str | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._data = bytes(source)
            self.size = len(self._data)
        elif isinstance(source, (str, os.PathLike)):
            path = Path(source)
            try:
                is_file = path.is_file()
                self.size = path.stat().st_size if is_file else 0
            except (OSError, ValueError):  # a name too long, a NUL byte
                is_file = False
            if not is_file:
                shown = str(source) if len(str(source)) <= 80 else str(source)[:77] + "..."
                raise ValidationError(f"{what} {shown!r} is not an existing file", field=what)
            self._path = path
            name = path.name
        elif hasattr(source, "read"):
            fh: Any = source
            name_attr = getattr(fh, "name", None)
            name = Path(name_attr).name if isinstance(name_attr, str) else None
            if _seekable(fh):
                start = fh.tell()
                end = fh.seek(0, io.SEEK_END)
                fh.seek(start)
                self._fh = fh
                self._start = start
                self.size = end - start
            else:
                raw = fh.read()
                if not isinstance(raw, bytes):
                    raise ValidationError(
                        f"{what} file object must be opened in binary mode ('rb')", field=what
                    )
                self._data = raw
                self.size = len(raw)
        else:
            raise ValidationError(
                f"{what} must be a path, bytes or a binary file object, "
                f"not {type(source).__name__}",
                field=what,
            )
        chosen = file_name if file_name is not None else name
        if chosen is not None:
            if not isinstance(chosen, str) or safe_file_name(chosen) is None:
                raise ValidationError(f"{chosen!r} is not a usable file name", field="file_name")
            chosen = safe_file_name(chosen)
            assert chosen is not None
            if len(chosen) > MAX_FILE_NAME:
                raise ValidationError(
                    f"file_name is {len(chosen)} characters; Feishu takes at most {MAX_FILE_NAME}",
                    field="file_name",
                )
        self.file_name = chosen

    def check_size(self, limit: int = MAX_UPLOAD_BYTES) -> None:
        """ValidationError for an empty source or one over ``limit`` bytes."""
        label = f"{self.what} {self.file_name!r}" if self.file_name else self.what
        if self.size == 0:
            raise ValidationError(
                f"{label} is empty; Feishu refuses empty uploads", field=self.what
            )
        if self.size > limit:
            raise ValidationError(
                f"{label} is {self.size:,} bytes, over the limit of {limit:,} bytes",
                field=self.what,
            )

    def read(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset``."""
        if self._data is not None:
            return self._data[offset : offset + size]
        if self._path is not None:
            with open(self._path, "rb") as fh:
                fh.seek(offset)
                return fh.read(size)
        assert self._fh is not None
        self._fh.seek(self._start + offset)
        data = self._fh.read(size)
        return bytes(data)

    def head(self, size: int = 64) -> bytes:
        """The first bytes (for type sniffing)."""
        return self.read(0, min(size, self.size))

    def identity(self) -> dict[str, Any]:
        """What must match for a saved upload state to be resumed with this source."""
        ident: dict[str, Any] = {"size": self.size, "file_name": self.file_name}
        if self._path is not None:
            stat = self._path.stat()
            ident["mtime_ns"] = stat.st_mtime_ns
        ident["head_adler32"] = adler32(self.read(0, min(self.size, 1 << 16)))
        return ident


def _seekable(fh: Any) -> bool:
    try:
        return bool(fh.seekable())
    except (AttributeError, OSError, ValueError):
        return False


@dataclass
class UploadState:
    """A multipart upload in progress: enough to resume it within 24 h of ``prepared_at``.

    ``kind`` is ``media`` (``drive/v1/medias``) or ``file`` (``drive/v1/files``). Save it with
    :meth:`save` (JSON) and give the file back as ``resume_file=`` to skip the parts done.
    """

    kind: Literal["media", "file"]
    upload_id: str
    block_size: int
    block_num: int
    size: int
    file_name: str
    parent_type: str
    parent_node: str
    prepared_at: float
    done: list[int] = field(default_factory=list)
    identity: dict[str, Any] = field(default_factory=dict)

    def expired(self, now: float | None = None) -> bool:
        """Whether the upload id's 24 h are over (a minute of margin kept)."""
        current = time.time() if now is None else now
        return current - self.prepared_at >= UPLOAD_ID_TTL - 60

    def mark(self, seq: int) -> None:
        if seq not in self.done:
            self.done.append(seq)

    @property
    def done_bytes(self) -> int:
        parts = {p.seq: p.size for p in plan_parts(self.size, self.block_size)}
        return sum(parts.get(seq, 0) for seq in self.done)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UploadState:
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError as exc:
            raise ValidationError(f"not an upload state: {exc}", field="resume_file") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the state as JSON, atomically (a crash leaves the old state or the new)."""
        target = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=target.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.to_dict(), fh)
            os.replace(tmp, target)
        except BaseException:
            with _suppress():
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> UploadState | None:
        """The state saved at ``path``, or None when there is none (or it is unreadable)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict):
            return None
        try:
            return cls.from_dict(data)
        except ValidationError:
            return None


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


def open_temp_beside(target: Path) -> tuple[IO[bytes], Path]:
    """A new temp file in ``target``'s directory (so ``os.replace`` is atomic), open for
    binary writing, and its path."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:40]}.", suffix=".part", dir=target.parent)
    return os.fdopen(fd, "wb"), Path(tmp)


DOWNLOAD_CHUNK = 256 * 1024


def disposition_name(header: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header (RFC 5987 ``filename*`` first),
    reduced to a safe base name; None if there is none."""
    if not header:
        return None
    from urllib.parse import unquote

    name: str | None = None
    star = re.search(r"filename\*\s*=\s*([\w!#$%&+^`{}~.-]*)'[\w-]*'([^;\s]+)", header, re.I)
    if star:
        try:
            name = unquote(star.group(2), encoding=star.group(1) or "utf-8", errors="strict")
        except (LookupError, UnicodeDecodeError):
            name = None
    if name is None:
        plain = re.search(r'filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))', header, re.I)
        if plain:
            name = plain.group(1) if plain.group(1) is not None else plain.group(2)
    return safe_file_name(name) if name else None
