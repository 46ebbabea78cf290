"""Pure checks of images and files before an upload: type from the content, size, emptiness.

Feishu takes images of at most 10 MB (JPEG, PNG, WEBP, GIF, TIFF, BMP, ICO) and files of at most
30 MB (``opus``, ``mp4``, ``pdf``, ``doc``, ``xls``, ``ppt`` or ``stream``), never empty. The
type is read from the first bytes (magic numbers), not from the name; only the Office families
(``doc``/``xls``/``ppt``) fall back to the file name when the content does not tell.

An ISO base media file (an ``ftyp`` box) is ``mp4`` only when its major brand is an MP4 video
one (:data:`MP4_BRANDS`: ``isom``, ``iso2``…``iso6``, ``mp41``, ``mp42``, ``avc1``, ``M4V``…).
The same container holds HEIC/AVIF images, M4A/M4B audio, QuickTime (MOV) and 3GP video, which
Feishu's ``mp4`` (a video message) is not: those are ``stream``.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

from ..errors import ValidationError
from .models import FileType, ImageFormat

__all__ = [
    "FILE_TYPES",
    "IMAGE_FORMATS",
    "MAX_FILE_BYTES",
    "MAX_IMAGE_BYTES",
    "MP4_BRANDS",
    "FileUpload",
    "ImageUpload",
    "MediaSource",
    "detect_file_type",
    "is_file_key",
    "is_image_key",
    "prepare_file",
    "prepare_image",
    "sniff_image_format",
]

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_FILE_BYTES = 30 * 1024 * 1024
IMAGE_FORMATS: tuple[ImageFormat, ...] = ("jpeg", "png", "webp", "gif", "tiff", "bmp", "ico")
FILE_TYPES: tuple[FileType, ...] = ("opus", "mp4", "pdf", "doc", "xls", "ppt", "stream")

MP4_BRANDS = frozenset(
    {
        b"isom",
        b"iso2",
        b"iso3",
        b"iso4",
        b"iso5",
        b"iso6",
        b"mp41",
        b"mp42",
        b"avc1",
        b"M4V ",
        b"M4VH",
        b"M4VP",
        b"mmp4",
        b"dash",
    }
)
"""Major brands of an ``ftyp`` box that are MP4 video; any other (``heic``, ``mif1``,
``avif``, ``M4A ``, ``qt  ``, ``3gp4``…) is uploaded as ``stream``."""

MediaSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]
"""A path, the bytes themselves, or a binary file object."""

IMAGE_RULE = "images must be JPEG, PNG, WEBP, GIF, TIFF, BMP or ICO, not empty, at most 10 MB"
FILE_RULE = (
    "files are uploaded as opus, mp4, pdf, doc, xls, ppt or stream (any other content), "
    "not empty, at most 30 MB"
)

_IMAGE_MIME = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
    "ico": "image/x-icon",
}
_FILE_MIME = {
    "opus": "audio/ogg",
    "mp4": "video/mp4",
    "pdf": "application/pdf",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "stream": "application/octet-stream",
}
_OFFICE_EXTENSIONS: dict[str, FileType] = {
    **dict.fromkeys(("doc", "docx", "docm", "dot", "dotx", "dotm"), "doc"),
    **dict.fromkeys(("xls", "xlsx", "xlsm", "xlsb", "xlt", "xltx", "xltm"), "xls"),
    **dict.fromkeys(("ppt", "pptx", "pptm", "pps", "ppsx", "pot", "potx"), "ppt"),
}
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE2_STREAMS: tuple[tuple[bytes, FileType], ...] = (
    ("WordDocument".encode("utf-16-le"), "doc"),
    ("PowerPoint Document".encode("utf-16-le"), "ppt"),
    ("Workbook".encode("utf-16-le"), "xls"),
    ("Book".encode("utf-16-le"), "xls"),
)
_OOXML_PARTS: tuple[tuple[str, FileType], ...] = (("word/", "doc"), ("xl/", "xls"), ("ppt/", "ppt"))


@dataclass(frozen=True)
class ImageUpload:
    """A checked image, ready for the multipart form."""

    data: bytes
    image_format: ImageFormat
    file_name: str

    @property
    def mime_type(self) -> str:
        return _IMAGE_MIME[self.image_format]


@dataclass(frozen=True)
class FileUpload:
    """A checked file, ready for the multipart form."""

    data: bytes
    file_type: FileType
    file_name: str

    @property
    def mime_type(self) -> str:
        return _FILE_MIME[self.file_type]


def is_image_key(value: object) -> bool:
    """Whether ``value`` looks like an ``image_key`` (``img_…``) rather than a path."""
    return isinstance(value, str) and value.startswith("img_") and not _looks_like_path(value)


def is_file_key(value: object) -> bool:
    """Whether ``value`` looks like a ``file_key`` (``file_…``) rather than a path."""
    return isinstance(value, str) and value.startswith("file_") and not _looks_like_path(value)


def _looks_like_path(value: str) -> bool:
    return any(c in value for c in "/\\.") or _exists(Path(value))


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name too long, a NUL byte: not a file of ours
        return False


def sniff_image_format(data: bytes) -> ImageFormat | None:
    """The image format told by the first bytes, or None if it is none Feishu takes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:2] == b"BM" and len(data) >= 26:
        return "bmp"
    if data[:4] == b"\x00\x00\x01\x00" and len(data) >= 22:
        return "ico"
    return None


def detect_file_type(data: bytes, file_name: str | None = None) -> FileType:
    """Feishu's ``file_type`` for ``data``: from its content, the name only for Office files."""
    if data[:4] == b"OggS" and b"OpusHead" in data[:128]:
        return "opus"
    if data[4:8] == b"ftyp":
        return "mp4" if data[8:12] in MP4_BRANDS else "stream"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(_OLE2_MAGIC):
        for marker, file_type in _OLE2_STREAMS:
            if marker in data:
                return file_type
    elif data.startswith(b"PK\x03\x04"):
        office = _ooxml_type(data)
        if office is not None:
            return office
    if file_name:
        extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
        if extension in _OFFICE_EXTENSIONS:
            return _OFFICE_EXTENSIONS[extension]
    return "stream"


def _ooxml_type(data: bytes) -> FileType | None:
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    for prefix, file_type in _OOXML_PARTS:
        if any(name.startswith(prefix) for name in names):
            return file_type
    return None


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _read(source: MediaSource, *, what: str, limit: int, rule: str) -> tuple[bytes, str | None]:
    """The bytes of ``source`` and its file name (when it is a path), size-checked."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), None
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not _is_file(path):
            raise ValidationError(
                f"{what} {_short(str(source))!r} is neither an existing file nor a "
                f"{'image_key (img_…)' if what == 'image' else 'file_key (file_…)'}; {rule}",
                field=what,
            )
        try:
            size = path.stat().st_size
            _check_size(size, what=what, limit=limit, rule=rule, label=path.name)
            data, name = path.read_bytes(), path.name
        except OSError as exc:
            raise ValidationError(
                f"{what} {path.name[:80]!r} cannot be read: {exc.strerror or exc}", field=what
            ) from None
    elif hasattr(source, "read"):
        raw = source.read(limit + 1)
        if not isinstance(raw, bytes):
            raise ValidationError(
                f"{what} file object must be opened in binary mode ('rb'); {rule}", field=what
            )
        data = raw
        name_attr = getattr(source, "name", None)
        name = Path(name_attr).name if isinstance(name_attr, str) else None
    else:
        raise ValidationError(
            f"{what} must be a path, bytes or a binary file object, "
            f"not {type(source).__name__}; {rule}",
            field=what,
        )
    _check_size(len(data), what=what, limit=limit, rule=rule, label=name)
    return data, name


def _check_size(size: int, *, what: str, limit: int, rule: str, label: str | None) -> None:
    named = f"{what} {label!r}" if label else what
    if size == 0:
        raise ValidationError(f"{named} is empty; {rule}", field=what)
    if size > limit:
        raise ValidationError(
            f"{named} is {size:,} bytes ({size / 1024 / 1024:.1f} MB), over Feishu's limit of "
            f"{limit // (1024 * 1024)} MB; {rule}",
            field=what,
            hint="Compress it, or share a link instead.",
        )


def prepare_image(source: MediaSource) -> ImageUpload:
    """Read and check an image: not empty, at most 10 MB, a format Feishu takes."""
    data, name = _read(source, what="image", limit=MAX_IMAGE_BYTES, rule=IMAGE_RULE)
    image_format = sniff_image_format(data)
    if image_format is None:
        named = f"image {name!r}" if name else "image"
        raise ValidationError(
            f"{named} is not a supported image (its first bytes are {data[:8].hex(' ')}); "
            f"{IMAGE_RULE}",
            field="image",
            hint="HEIC, SVG and PDF must be converted first (to PNG or JPEG).",
        )
    extension = "jpg" if image_format == "jpeg" else image_format
    return ImageUpload(data, image_format, name or f"image.{extension}")


def prepare_file(
    source: MediaSource, *, file_name: str | None = None, file_type: str | None = None
) -> FileUpload:
    """Read and check a file: not empty, at most 30 MB; its ``file_type`` from the content."""
    data, name = _read(source, what="file", limit=MAX_FILE_BYTES, rule=FILE_RULE)
    if file_name is not None and (not isinstance(file_name, str) or not file_name.strip()):
        raise ValidationError("file_name must be a non-empty string", field="file_name")
    chosen_name = file_name or name
    if file_type is None:
        detected = detect_file_type(data, chosen_name)
    elif file_type in FILE_TYPES:
        detected = file_type
    else:
        raise ValidationError(
            f"file_type {file_type!r} is not one of {', '.join(FILE_TYPES)}; {FILE_RULE}",
            field="file_type",
        )
    extension = {"opus": "opus", "mp4": "mp4", "pdf": "pdf"}.get(detected, "bin")
    return FileUpload(data, detected, chosen_name or f"file.{extension}")
