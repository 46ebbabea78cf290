"""Type detection from content, for images and files (pure, no network)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from lark_service import errors
from lark_service.messaging import detect_file_type, sniff_image_format
from lark_service.messaging._media import is_file_key, is_image_key, prepare_file, prepare_image
from lark_service.testing import Emulator
from lark_service.testing.emulator.routes_im import im_state

from .conftest import BMP, CHAT, GIF, ICO, JPEG, MP4, OPUS, PDF, PNG, TIFF, WEBP


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JPEG, "jpeg"),
        (PNG, "png"),
        (GIF, "gif"),
        (b"GIF87a" + b"\x00" * 10, "gif"),
        (WEBP, "webp"),
        (TIFF, "tiff"),
        (b"MM\x00*" + b"\x00" * 10, "tiff"),
        (BMP, "bmp"),
        (ICO, "ico"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),  # RIFF but not WEBP
        (b"BM", None),  # too short to be a BMP
        (PDF, None),
        (b"<svg/>", None),
        (b"\x00\x00\x00\x18ftypheic", None),  # HEIC is not accepted
    ],
)
def test_sniff_image_format(data: bytes, expected: str | None) -> None:
    assert sniff_image_format(data) == expected


def _ooxml(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(part, "<x/>")
    return buffer.getvalue()


def _ole2(stream: str) -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + stream.encode("utf-16-le") + b"\x00"


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (OPUS, None, "opus"),
        (b"OggS" + b"\x00" * 40 + b"vorbis", None, "stream"),  # Ogg, but not Opus
        (MP4, None, "mp4"),
        (PDF, "not-a-pdf.txt", "pdf"),  # the content wins over the name
        (_ooxml("word/document.xml"), None, "doc"),
        (_ooxml("xl/workbook.xml"), None, "xls"),
        (_ooxml("ppt/presentation.xml"), None, "ppt"),
        (_ole2("WordDocument"), None, "doc"),
        (_ole2("Workbook"), None, "xls"),
        (_ole2("PowerPoint Document"), None, "ppt"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.XLS", "xls"),  # name fallback
        (b"PK\x03\x04 not really a zip", "slides.pptx", "ppt"),
        (b"plain text", "notes.docx", "doc"),
        (b"plain text", "notes.txt", "stream"),
        (b"plain text", "report.pdf", "stream"),  # pdf only from content
        (b"\x00" * 10, None, "stream"),
    ],
)
def test_detect_file_type(data: bytes, name: str | None, expected: str) -> None:
    assert detect_file_type(data, name) == expected


def _ftyp(brand: bytes, *compatible: bytes) -> bytes:
    """The first box of an ISO base media file: size, ``ftyp``, major brand, version,
    compatible brands."""
    body = brand + b"\x00\x00\x02\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00" * 16


@pytest.mark.parametrize(
    ("brand", "expected"),
    [
        (b"isom", "mp4"),
        (b"iso2", "mp4"),
        (b"mp41", "mp4"),
        (b"mp42", "mp4"),
        (b"avc1", "mp4"),
        (b"M4V ", "mp4"),
        (b"dash", "mp4"),
        (b"heic", "stream"),  # a HEIC image
        (b"mif1", "stream"),  # HEIF image
        (b"avif", "stream"),
        (b"M4A ", "stream"),  # AAC audio
        (b"qt  ", "stream"),  # QuickTime MOV
        (b"3gp4", "stream"),
    ],
)
def test_only_mp4_brands_are_mp4(brand: bytes, expected: str) -> None:
    """An ``ftyp`` box alone does not make an mp4: HEIC, M4A and MOV share the container."""
    assert detect_file_type(_ftyp(brand, b"isom", b"mp42")) == expected
    assert prepare_file(_ftyp(brand)).file_type == expected


def test_a_non_mp4_ftyp_file_cannot_be_a_media_message(lark: Any, emu: Emulator) -> None:
    with pytest.raises(errors.ValidationError, match=r"needs an mp4 file.*stream"):
        lark.messaging.send_message(CHAT, _ftyp(b"qt  "), msg_type="media")
    assert emu.requests() == []
    asset = lark.messaging.upload_file(_ftyp(b"M4A "), file_name="voice.m4a")
    assert asset.file_type == "stream"
    (upload,) = im_state(emu).uploads.values()
    assert upload.file_type == "stream"


def test_prepare_image_from_a_file_object(tmp_path: Path) -> None:
    path = tmp_path / "x.gif"
    path.write_bytes(GIF)
    with path.open("rb") as f:
        upload = prepare_image(f)
    assert (upload.image_format, upload.file_name, upload.mime_type) == (
        "gif",
        "x.gif",
        "image/gif",
    )
    assert prepare_image(bytearray(JPEG)).file_name == "image.jpg"


def test_prepare_file_names_and_overrides() -> None:
    assert prepare_file(PDF).file_name == "file.pdf"
    assert prepare_file(b"x").file_name == "file.bin"
    forced = prepare_file(b"raw audio", file_type="opus", file_name="v.opus")
    assert (forced.file_type, forced.file_name) == ("opus", "v.opus")
    with pytest.raises(errors.ValidationError, match="file_name"):
        prepare_file(PDF, file_name=" ")


def test_keys_versus_paths(tmp_path: Path) -> None:
    assert is_image_key("img_v3_02ab_xyz")
    assert not is_image_key("img_chart.png")  # a file name, not a key
    assert not is_image_key(b"img_v3")
    assert is_file_key("file_v3_abc")
    assert not is_file_key("files/report.pdf")
