"""``lark-service drive upload|download`` against the emulator."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from lark_service.cli import cli
from lark_service.testing import Emulator
from lark_service.testing.emulator.state_drive import DriveState

from .conftest import APP, PNG


@pytest.fixture
def runner(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LARK_APP_ID", APP[0])
    monkeypatch.setenv("LARK_APP_SECRET", APP[1])
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    return CliRunner()


def test_upload_then_download(runner: CliRunner, drive: DriveState, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    src = tmp_path / "report.bin"
    src.write_bytes(data)
    result = runner.invoke(cli, ["drive", "upload", str(src), "--json", "-q"])
    assert result.exit_code == 0, result.output
    uploaded = json.loads(result.stdout)
    assert uploaded["name"] == "report.bin" and uploaded["size"] == len(data)
    token = uploaded["token"]
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(cli, ["drive", "download", token, str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.bin").read_bytes() == data
    assert str(out / "report.bin") in result.stdout

    again = runner.invoke(cli, ["drive", "download", token, str(out / "report.bin")])
    assert again.exit_code == 2
    assert "--overwrite" in again.stderr and "overwrite=True" not in again.stderr
    forced = runner.invoke(
        cli, ["drive", "download", token, str(out / "report.bin"), "--overwrite"]
    )
    assert forced.exit_code == 0, forced.output


def test_upload_into_a_folder_with_a_progress_bar(
    runner: CliRunner, emu: Emulator, drive: DriveState, tmp_path: Path
) -> None:
    from lark_service import LarkClient

    with LarkClient(app_id=APP[0], app_secret=APP[1], base_url=emu.url) as client:
        folder = client.drive.create_folder("Reports")
    src = tmp_path / "q3.csv"
    src.write_bytes(b"a,b\n")
    result = runner.invoke(cli, ["drive", "upload", str(src), "--folder", folder.token])
    assert result.exit_code == 0, result.output
    assert "uploaded" in result.stdout and "token:" in result.stdout
    (stored,) = drive.files.values()
    assert stored.parent_node == folder.token
    assert "uploading q3.csv" in result.stderr


def test_media_download_and_errors(runner: CliRunner, emu: Emulator, tmp_path: Path) -> None:
    from lark_service import LarkClient

    with LarkClient(app_id=APP[0], app_secret=APP[1], base_url=emu.url) as client:
        asset = client.drive.upload_doc_media("doxcnCli", PNG)
    result = runner.invoke(
        cli, ["drive", "download", "--media", asset.file_token, str(tmp_path / "a.png")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.png").read_bytes() == PNG

    missing = runner.invoke(cli, ["drive", "download", "boxcnMissing", str(tmp_path / "x")])
    assert missing.exit_code == 1
    assert "NotFoundError" in missing.stderr and "1061003" in missing.stderr

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    refused = runner.invoke(cli, ["drive", "upload", str(empty)])
    assert refused.exit_code == 2 and "empty" in refused.stderr
    no_folder = runner.invoke(
        cli, ["drive", "upload", str(tmp_path / "a.png"), "--folder", "fldcnNope"]
    )
    assert no_folder.exit_code == 1 and "1061044" in no_folder.stderr


def test_help_lists_the_commands(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["drive", "--help"])
    assert result.exit_code == 0
    assert "upload" in result.output and "download" in result.output
