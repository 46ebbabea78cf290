"""Download names come from Feishu's Content-Disposition header: untrusted input (issue 10.6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lark_service.errors import ValidationError
from lark_service.messaging._build import content_disposition_filename
from lark_service.messaging.models import MessageResource


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="../../../etc/passwd"', "passwd"),
        ("attachment; filename=/etc/shadow", "shadow"),
        ('attachment; filename="..\\\\..\\\\boot.ini"', "boot.ini"),
        ('attachment; filename="a\x00b.txt"', "ab.txt"),
        ('attachment; filename=".."', None),
        ("attachment; filename*=UTF-8''..%2F..%2Fx.pdf", "x.pdf"),
        ("attachment; filename*=no-such-charset''r%C3%A9sum%C3%A9.pdf", "résumé.pdf"),
        ("attachment; filename*=UTF-8''%00%2F", None),
        ('attachment; filename="report.pdf"', "report.pdf"),
    ],
)
def test_content_disposition_names_are_reduced_to_a_safe_base_name(
    header: str, name: str | None
) -> None:
    assert content_disposition_filename(header) == name


def test_a_hostile_name_never_writes_outside_the_directory(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    target = tmp_path / "downloads"
    target.mkdir()
    resource = MessageResource(
        content=b"x",
        file_name=content_disposition_filename('attachment; filename="../outside.txt"'),
        request_id="r",
    )
    saved = resource.save(target)
    assert saved == target / "outside.txt" and saved.read_bytes() == b"x"
    assert not outside.exists()
    for bad in ("../outside.txt", "/etc/passwd", "a/b", "..", "x\x00y"):
        with pytest.raises(ValidationError):
            resource.save(target, file_name=bad)
    assert not outside.exists()


def test_save_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    resource = MessageResource(content=b"new", file_name="a.txt", request_id="r")
    (tmp_path / "a.txt").write_bytes(b"old")
    with pytest.raises(ValidationError):
        resource.save(tmp_path)
    assert resource.save(tmp_path, overwrite=True).read_bytes() == b"new"
    nameless = MessageResource(content=b"?", file_name=None, request_id="r")
    assert nameless.save(tmp_path).name == "download"
