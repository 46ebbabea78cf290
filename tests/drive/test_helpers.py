"""Pure Drive helpers: member inference, enums, part plans, checksums, sources, upload state."""

from __future__ import annotations

import io
import json
import time
import zlib
from pathlib import Path

import pytest

from lark_service.drive import infer_member_type, member_ref, plan_parts
from lark_service.drive._members import check_doc_type, check_member_type, check_perm
from lark_service.drive._transfer import (
    UploadSource,
    UploadState,
    adler32,
    disposition_name,
    file_adler32,
)
from lark_service.errors import ValidationError


@pytest.mark.parametrize(
    ("member", "kind"),
    [
        ("alice@example.com", "email"),
        ("ou_7d8a6e6df7621556ce0d21922b676706", "openid"),
        ("on_94a1ee5551019f18cd73d9f111898cf2", "unionid"),
        ("oc_a0553eda9014c201e6969b478895c230", "openchat"),
        ("od-64242a18099d3a31acd24d8fce8dxxxx", "opendepartmentid"),
        ("cli_a1b2c3", "appid"),
    ],
)
def test_member_type_is_inferred_from_the_id(member: str, kind: str) -> None:
    assert infer_member_type(member) == kind
    assert member_ref(f"  {member} ") == (kind, member)


def test_an_id_without_a_known_shape_needs_member_type() -> None:
    with pytest.raises(ValidationError, match="member_type="):
        member_ref("5d9bdxxx")
    assert member_ref("5d9bdxxx", "userid") == ("userid", "5d9bdxxx")
    assert member_ref("5d9bdxxx", "user_id") == ("userid", "5d9bdxxx")  # alias


@pytest.mark.parametrize("bad", ["", "   ", None, 42, "x" * 600])
def test_bad_members_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError):
        member_ref(bad)  # type: ignore[arg-type]


def test_email_type_needs_an_email() -> None:
    with pytest.raises(ValidationError, match="not an email"):
        member_ref("ou_123", "email")


def test_enums() -> None:
    assert check_perm("full_access") == "full_access"
    assert check_doc_type("docx") == "docx"
    assert check_member_type("chat_id") == "openchat"
    for fn, bad in ((check_perm, "owner"), (check_doc_type, "pdf"), (check_member_type, "x")):
        with pytest.raises(ValidationError):
            fn(bad)


def test_plan_parts_covers_the_file_in_blocks() -> None:
    parts = plan_parts(10, 4)
    assert [(p.seq, p.offset, p.size) for p in parts] == [(0, 0, 4), (1, 4, 4), (2, 8, 2)]
    assert len(plan_parts(8, 4)) == 2
    assert len(plan_parts(100 * 1024 * 1024)) == 25
    with pytest.raises(ValidationError):
        plan_parts(0)


def test_adler32_is_zlibs_and_runs() -> None:
    data = b"hello drive" * 1000
    assert adler32(data) == zlib.adler32(data)
    assert adler32(data[500:], adler32(data[:500])) == adler32(data)


def test_file_adler32(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 3_000_000)
    assert file_adler32(path, chunk=1000) == zlib.adler32(b"x" * 3_000_000)


def test_sources_read_ranges_without_loading_paths(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"0123456789")
    for source in (path, str(path), b"0123456789", io.BytesIO(b"0123456789")):
        up = UploadSource(source)
        assert up.size == 10
        assert up.read(3, 4) == b"3456"
    assert UploadSource(path).file_name == "report.pdf"
    assert UploadSource(b"x", file_name="a.txt").file_name == "a.txt"


def test_size_checks_before_any_request(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(ValidationError, match="empty"):
        UploadSource(empty).check_size()
    with pytest.raises(ValidationError, match="over the limit"):
        UploadSource(b"12345").check_size(4)
    with pytest.raises(ValidationError, match="not an existing file"):
        UploadSource(tmp_path / "missing.bin")
    with pytest.raises(ValidationError, match="file_name"):
        UploadSource(b"x", file_name="x" * 300)
    with pytest.raises(ValidationError):
        UploadSource(12)  # type: ignore[arg-type]


def test_upload_state_round_trips_and_expires(tmp_path: Path) -> None:
    state = UploadState(
        kind="media",
        upload_id="u1",
        block_size=4,
        block_num=3,
        size=10,
        file_name="a.bin",
        parent_type="docx_file",
        parent_node="doc",
        prepared_at=time.time(),
        identity={"size": 10},
    )
    state.mark(0)
    state.mark(2)
    state.mark(0)
    assert state.done_bytes == 6
    target = tmp_path / "state.json"
    state.save(target)
    assert json.loads(target.read_text())["upload_id"] == "u1"
    loaded = UploadState.load(target)
    assert loaded == state
    assert not loaded.expired()
    assert loaded.expired(now=state.prepared_at + 24 * 3600)
    assert UploadState.load(tmp_path / "none.json") is None
    (tmp_path / "bad.json").write_text("[1]")
    assert UploadState.load(tmp_path / "bad.json") is None
    assert list(tmp_path.glob(".upload-*")) == []


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("attachment; filename=\"a.png\"; filename*=UTF-8''%E5%9B%BE.png", "图.png"),
        ('attachment; filename="report.pdf"', "report.pdf"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        (None, None),
        ("attachment", None),
    ],
)
def test_disposition_names_are_made_safe(header: str | None, name: str | None) -> None:
    assert disposition_name(header) == name
