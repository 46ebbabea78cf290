"""``lark-service doc create|append|cat|share`` against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lark_service.cli import cli
from lark_service.testing import Emulator
from lark_service.testing.emulator.docx_state import DocxState

from .conftest import APP


@pytest.fixture
def runner(emu: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("LARK_APP_ID", APP[0])
    monkeypatch.setenv("LARK_APP_SECRET", APP[1])
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    monkeypatch.setenv("LARK_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    return CliRunner()


def test_create_from_markdown_then_cat_and_append(
    runner: CliRunner, tmp_path: Path, docx: DocxState
) -> None:
    report = tmp_path / "report.md"
    report.write_text("# Report\n\n- a\n  - b\n\nDone.\n", encoding="utf-8")
    created = runner.invoke(
        cli, ["doc", "create", "--title", "Q3", "--markdown", str(report), "--json"]
    )
    assert created.exit_code == 0, created.output
    data = json.loads(created.output[created.output.index("{") :])
    doc_id = data["document_id"]
    assert data["title"] == "Q3" and data["blocks"] == 3

    shown = runner.invoke(cli, ["doc", "cat", doc_id, "--markdown"])
    assert shown.exit_code == 0, shown.output
    assert shown.output == "# Report\n\n- a\n  - b\n\nDone.\n"

    more = tmp_path / "more.md"
    more.write_text("Appendix\n", encoding="utf-8")
    appended = runner.invoke(cli, ["doc", "append", doc_id, "--markdown", str(more)])
    assert appended.exit_code == 0, appended.output
    assert "Appended 1 block(s)" in appended.output
    plain = runner.invoke(cli, ["doc", "cat", doc_id])
    assert plain.output == "Report\na\nb\nDone.\nAppendix\n"


def test_share_with_an_email(runner: CliRunner, emu: Emulator, docx: DocxState) -> None:
    emu.add_user("alice", name="Alice", email="alice@example.com")
    doc = docx.add_document(APP[0], "Shared")
    from lark_service.testing.emulator.routes_docx import _register_with_drive

    _register_with_drive(emu.state, doc.document_id, APP[0])
    result = runner.invoke(
        cli, ["doc", "share", doc.document_id, "--to", "alice@example.com", "--perm", "edit"]
    )
    assert result.exit_code == 0, result.output
    assert "Shared" in result.output and "edit" in result.output
    calls = emu.requests(path=f"/open-apis/drive/v1/permissions/{doc.document_id}/members")
    assert len(calls) == 1 and calls[0].query.get("type") == "docx"


def test_errors_speak_cli_terms(runner: CliRunner, tmp_path: Path) -> None:
    missing = runner.invoke(cli, ["doc", "append", "doxcnX", "--markdown", str(tmp_path / "no.md")])
    assert missing.exit_code == 2 and "--markdown" in missing.output
    assert "Traceback" not in missing.output
    unknown = runner.invoke(cli, ["doc", "cat", "doxcnNoSuchDoc"])
    assert unknown.exit_code == 1 and "NotFoundError" in unknown.output
    assert "Add document app" in unknown.output
