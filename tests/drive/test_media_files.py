"""Media and files through the emulator: one-shot and multipart uploads (adler32 per part,
corrupted parts re-sent, resumption), streamed atomic downloads, folders and listings."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from lark_service import AsyncLarkClient, LarkClient, instrumentation
from lark_service.drive import UploadState
from lark_service.errors import NotFoundError, RateLimitedError, ServerError, ValidationError
from lark_service.testing import Emulator
from lark_service.testing.emulator.state_drive import DriveState

from .conftest import APP, PNG

BLOCK = 64 * 1024
DOC = "doxcnMedia0001"


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Multipart with 64 KB blocks above 100 KB (Feishu: 4 MB blocks above 20 MB)."""
    import lark_service.drive._async_client as async_client
    import lark_service.drive._sync_client as sync_client

    monkeypatch.setattr(DriveState, "BLOCK_SIZE", BLOCK)
    for module in (async_client, sync_client):
        monkeypatch.setattr(module, "UPLOAD_ALL_LIMIT", 100 * 1024)
        monkeypatch.setattr(module, "BLOCK_SIZE", BLOCK)
    return BLOCK


def calls(emu: Emulator, what: str) -> int:
    return len(emu.requests(path=f"/open-apis/drive/v1/*/{what}"))


def test_small_image_is_one_upload_all(client: LarkClient, emu: Emulator, tmp_path: Path) -> None:
    asset = client.drive.upload_doc_media(DOC, PNG)
    assert asset.file_token.startswith("boxcn")
    assert (asset.parent_type, asset.parent_node, asset.file_name) == (
        "docx_image",
        DOC,
        "image.png",
    )
    assert asset.upload_id is None and asset.parts == 1
    assert calls(emu, "upload_all") == 1
    saved = client.drive.download_doc_media(asset.file_token, tmp_path / "img.png")
    assert saved.read_bytes() == PNG


def test_doc_media_block_and_route_token(
    client: LarkClient, emu: Emulator, drive: DriveState
) -> None:
    asset = client.drive.upload_doc_media(
        DOC, b"%PDF-1.7 x", "file", parent_node="blk1", file_name="a.pdf"
    )
    stored = drive.files[asset.file_token]
    assert (stored.parent_type, stored.parent_node, stored.name) == ("docx_file", "blk1", "a.pdf")
    assert stored.extra == '{"drive_route_token":"' + DOC + '"}'


@pytest.mark.parametrize(
    ("source", "kwargs", "match"),
    [
        (b"", {}, "empty"),
        (b"not an image", {}, "not an image"),
        (PNG, {"media_type": "video"}, "media_type"),
        (PNG, {"file_name": "x" * 300}, "file_name"),
    ],
)
def test_bad_media_is_refused_before_any_request(
    client: LarkClient, emu: Emulator, source: bytes, kwargs: dict[str, str], match: str
) -> None:
    with pytest.raises(ValidationError, match=match):
        client.drive.upload_doc_media(DOC, source, **kwargs)
    assert emu.requests(path="/open-apis/drive/*") == []


def test_too_large_is_refused_before_any_request(
    client: LarkClient, emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lark_service.drive._sync_client as sync_client

    monkeypatch.setattr(sync_client, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(ValidationError, match="over the limit"):
        client.drive.upload_doc_media(DOC, b"x" * 11, "file")
    assert emu.requests(path="/open-apis/drive/*") == []


def test_large_media_goes_multipart_with_checksums(
    client: LarkClient, emu: Emulator, drive: DriveState, small_blocks: int, tmp_path: Path
) -> None:
    data = os.urandom(5 * small_blocks + 123)
    source = tmp_path / "chart.bin"
    source.write_bytes(data)
    progress: list[tuple[int, int]] = []
    asset = client.drive.upload_doc_media(
        DOC, source, "file", progress=lambda d, t: progress.append((d, t))
    )
    assert asset.upload_id is not None and asset.parts == 6
    assert (
        calls(emu, "upload_prepare"),
        calls(emu, "upload_part"),
        calls(emu, "upload_finish"),
    ) == (1, 6, 1)
    assert drive.files[asset.file_token].data == data
    assert progress[0] == (0, len(data)) and progress[-1] == (len(data), len(data))
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


def test_a_corrupted_part_is_sent_again(
    client: LarkClient, emu: Emulator, drive: DriveState, small_blocks: int
) -> None:
    data = os.urandom(3 * small_blocks)
    drive.corrupt_parts(1)
    asset = client.drive.upload_doc_media(DOC, data, "file", file_name="d.bin")
    assert calls(emu, "upload_part") == 4  # one part answered 1062008, then re-sent
    assert drive.files[asset.file_token].data == data


def test_resume_skips_the_parts_done(
    client: LarkClient, emu: Emulator, drive: DriveState, small_blocks: int, tmp_path: Path
) -> None:
    data = os.urandom(4 * small_blocks)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    state_file = tmp_path / "big.upload.json"
    # two parts go through, then the upload breaks (the process died, the network went away)
    ok_parts = {"n": 0}
    original = client.drive._request

    def flaky(method: str, path: str, **kw: object) -> object:
        if path.endswith("upload_part"):
            ok_parts["n"] += 1
            if ok_parts["n"] > 2:
                raise ServerError("injected", retryable=False)
        return original(method, path, **kw)

    client.drive._request = flaky
    with pytest.raises(ServerError) as info:
        client.drive.upload_doc_media(DOC, source, "file", resume_file=state_file)
    assert "resume_file" in (info.value.hint or "")
    saved = UploadState.load(state_file)
    assert saved is not None and sorted(saved.done) == [0, 1]
    client.drive._request = original

    before = calls(emu, "upload_part")
    with instrumentation.EventRecorder() as events:
        asset = client.drive.upload_doc_media(DOC, source, "file", resume_file=state_file)
    (resumed,) = [e for e in events.events if e.name == "drive.upload_resumed"]
    assert resumed.fields == {"kind": "media", "parts_done": 2, "parts": 4}
    assert calls(emu, "upload_part") - before == 2  # only parts 2 and 3
    assert calls(emu, "upload_prepare") == 1
    assert asset.upload_id == saved.upload_id
    assert drive.files[asset.file_token].data == data
    assert not state_file.exists()


def test_a_stale_or_foreign_state_file_starts_a_new_upload(
    client: LarkClient, emu: Emulator, small_blocks: int, tmp_path: Path
) -> None:
    data = os.urandom(2 * small_blocks)
    state_file = tmp_path / "s.json"
    UploadState(
        kind="media",
        upload_id="old",
        block_size=small_blocks,
        block_num=2,
        size=len(data),
        file_name="x.bin",
        parent_type="docx_file",
        parent_node=DOC,
        prepared_at=time.time() - 25 * 3600,
        done=[0],
    ).save(state_file)
    client.drive.upload_doc_media(DOC, data, "file", file_name="x.bin", resume_file=state_file)
    assert calls(emu, "upload_prepare") == 1
    assert calls(emu, "upload_part") == 2


def test_resume_by_upload_id(
    client: LarkClient, emu: Emulator, drive: DriveState, small_blocks: int
) -> None:
    from lark_service.testing.emulator.state_drive import MultipartUpload

    data = os.urandom(2 * small_blocks + 5)
    with emu.state.lock:
        drive.uploads["u-1"] = MultipartUpload(
            "u-1",
            "media",
            APP[0],
            "y.bin",
            "docx_file",
            DOC,
            len(data),
            small_blocks,
            3,
            emu.now(),
        )
    asset = client.drive.upload_doc_media(DOC, data, "file", file_name="y.bin", upload_id="u-1")
    assert asset.upload_id == "u-1"
    assert calls(emu, "upload_prepare") == 0
    assert drive.files[asset.file_token].data == data


def test_1061045_is_waited_out_and_retried(
    client: LarkClient, emu: Emulator, sleeps: list[float]
) -> None:
    emu.inject_fault("/open-apis/drive/v1/medias/upload_all", "code", code=1061045)
    client.drive.upload_doc_media(DOC, PNG)
    assert calls(emu, "upload_all") == 2
    assert 1.0 in sleeps


@pytest.mark.anyio
async def test_media_uploads_of_one_app_never_overlap(
    async_client: AsyncLarkClient, drive: DriveState, small_blocks: int
) -> None:
    async with async_client:
        uploads = [
            async_client.drive.upload_doc_media(
                DOC, os.urandom(2 * small_blocks), "file", file_name=f"{i}.bin"
            )
            for i in range(3)
        ] + [async_client.drive.upload_doc_media(DOC, PNG) for _ in range(3)]
        assets = await asyncio.gather(*uploads)
    assert len({a.file_token for a in assets}) == 6
    assert drive.concurrent_rejections == 0
    assert drive.max_concurrent_media == 1


def test_download_streams_to_a_temp_file_then_renames(client: LarkClient, tmp_path: Path) -> None:
    data = os.urandom(1024 * 1024 + 7)
    asset = client.drive.upload_doc_media(DOC, data, "file", file_name="关于.bin")
    seen: list[int] = []
    with instrumentation.EventRecorder() as events:
        path = client.drive.download_doc_media(
            asset.file_token, tmp_path, progress=lambda d, t: seen.append(d)
        )
    assert path == tmp_path / "关于.bin"
    assert path.read_bytes() == data
    assert len(seen) >= 4 and seen[-1] == len(data)  # written chunk by chunk
    (finished,) = events.named("request.finished")
    assert finished.fields["path"] == "/open-apis/drive/v1/medias/{file_token}/download"
    assert finished.fields["outcome"] == "ok"
    assert [p.name for p in tmp_path.iterdir()] == ["关于.bin"]
    with pytest.raises(ValidationError, match="exists"):
        client.drive.download_doc_media(asset.file_token, path)
    client.drive.download_doc_media(asset.file_token, path, overwrite=True)


def test_bad_token_is_not_found_and_leaves_nothing(client: LarkClient, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError) as info:
        client.drive.download_doc_media("boxcnMissing", tmp_path / "x.bin")
    assert info.value.code == 1061003
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValidationError, match="does not exist"):
        client.drive.download_doc_media("boxcnMissing", tmp_path / "no" / "x.bin")


def test_failed_download_is_retried_and_leaves_no_temp_file(
    client: LarkClient, emu: Emulator, tmp_path: Path
) -> None:
    asset = client.drive.upload_doc_media(DOC, PNG)
    emu.inject_fault(
        f"/open-apis/drive/v1/medias/{asset.file_token}/download", "status", status=502
    )
    path = client.drive.download_doc_media(asset.file_token, tmp_path / "a.png")
    assert path.read_bytes() == PNG
    assert len(emu.requests(path="/open-apis/drive/v1/medias/*/download")) == 2
    emu.inject_fault(
        f"/open-apis/drive/v1/medias/{asset.file_token}/download", "status", status=502, count=None
    )
    with pytest.raises(ServerError):
        client.drive.download_doc_media(asset.file_token, tmp_path / "b.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_tmp_download_urls(client: LarkClient) -> None:
    import httpx

    asset = client.drive.upload_doc_media(DOC, PNG)
    urls = client.drive.get_media_download_urls([asset.file_token])
    assert httpx.get(urls[asset.file_token]).content == PNG


def test_folders_files_and_listing(
    client: LarkClient, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import lark_service.drive._sync_client as sync_client

    folder = client.drive.create_folder("Reports")
    assert folder.type == "folder" and folder.token.startswith("fldcn")
    report = tmp_path / "q3.csv"
    report.write_bytes(b"a,b\n1,2\n")
    uploaded = client.drive.upload_file(report, folder_token=folder.token)
    assert (uploaded.name, uploaded.parent_token, uploaded.size) == ("q3.csv", folder.token, 8)
    client.drive.upload_file(b"x", folder_token=folder.token, file_name="b.txt")
    client.drive.create_folder("2026", folder_token=folder.token)
    monkeypatch.setattr(sync_client, "_LIST_PAGE_SIZE", 2)
    listed = client.drive.list_files(folder_token=folder.token).to_list()
    assert [f.name for f in listed] == ["q3.csv", "b.txt", "2026"]
    assert len(emu.requests(path="/open-apis/drive/v1/files")) == 2
    assert [f.name for f in client.drive.list_files().to_list()] == ["Reports"]
    back = client.drive.download_file(uploaded.token, tmp_path / "back.csv")
    assert back.read_bytes() == b"a,b\n1,2\n"
    with pytest.raises(ValidationError, match="file_name"):
        client.drive.upload_file(b"x", folder_token=folder.token)
    with pytest.raises(NotFoundError) as info:
        client.drive.upload_file(b"x", folder_token="fldcnNope", file_name="x")
    assert info.value.code == 1061044


def test_large_drive_file_goes_multipart(
    client: LarkClient, emu: Emulator, drive: DriveState, small_blocks: int, tmp_path: Path
) -> None:
    data = os.urandom(3 * small_blocks)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    uploaded = client.drive.upload_file(src)
    assert len(emu.requests(path="/open-apis/drive/v1/files/upload_part")) == 3
    assert drive.files[uploaded.token].data == data
    assert client.drive.download_file(uploaded.token, tmp_path / "copy.bin").read_bytes() == data


@pytest.mark.anyio
async def test_async_upload_and_download(async_client: AsyncLarkClient, tmp_path: Path) -> None:
    async with async_client:
        asset = await async_client.drive.upload_doc_media(DOC, PNG)
        path = await async_client.drive.download_doc_media(asset.file_token, tmp_path / "a.png")
        with pytest.raises(NotFoundError):
            await async_client.drive.download_file("boxcnMissing", tmp_path / "b")
    assert path.read_bytes() == PNG


def test_rate_limited_class_for_1061045() -> None:
    from lark_service.errors import error_from_response

    error = error_from_response(http_status=400, body={"code": 1061045, "msg": "x"}, family="drive")
    assert isinstance(error, RateLimitedError) and error.retry_after == 1.0
