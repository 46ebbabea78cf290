"""``lark-service send text|post|image|file|card|batch`` against the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lark_service.cli import cli
from lark_service.testing import Emulator

from .conftest import APP_ID, CHAT, NOBOT_CHAT, PDF, PNG, SECRET


@pytest.fixture
def runner(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LARK_APP_ID", APP_ID)
    monkeypatch.setenv("LARK_APP_SECRET", SECRET)
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    return CliRunner()


def test_text_with_mentions(runner: CliRunner, emu: Emulator, alice: str) -> None:
    result = runner.invoke(cli, ["send", "text", "--to", CHAT, "--at", alice, "--at-all", "hi"])
    assert result.exit_code == 0, result.output
    (message,) = emu.messages()
    assert message.content["text"] == f'<at user_id="{alice}"></at> <at user_id="all"></at> hi'
    assert message.message_id in result.output


def test_post_from_markdown_file_text_and_json(
    runner: CliRunner, emu: Emulator, tmp_path: Path
) -> None:
    md = tmp_path / "report.md"
    md.write_text("# Weekly\n\nall **green**\n", encoding="utf-8")
    post = tmp_path / "post.json"
    post.write_text(json.dumps({"en_us": {"title": "P", "content": [[{"tag": "hr"}]]}}))
    for args in (["--markdown", str(md)], ["--post", str(post)], ["--title", "T", "*x*"]):
        result = runner.invoke(cli, ["send", "post", "--to", CHAT, *args])
        assert result.exit_code == 0, result.output
    contents = [m.content for m in emu.messages(msg_type="post")]
    assert contents[0]["zh_cn"]["title"] == "Weekly"
    assert contents[1] == {"en_us": {"title": "P", "content": [[{"tag": "hr"}]]}}
    assert contents[2]["zh_cn"] == {"title": "T", "content": [[{"tag": "md", "text": "*x*"}]]}
    usage = runner.invoke(cli, ["send", "post", "--to", CHAT])
    assert usage.exit_code == 2 and "exactly one" in usage.output


def test_image_file_and_card(runner: CliRunner, emu: Emulator, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(PNG)
    (tmp_path / "r.pdf").write_bytes(PDF)
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"schema": "2.0", "body": {"elements": [{"tag": "hr"}]}}))
    for kind, args in (
        ("image", [str(tmp_path / "a.png")]),
        ("file", ["--name", "report.pdf", str(tmp_path / "r.pdf")]),
        ("card", ["--card", str(card)]),
    ):
        result = runner.invoke(cli, ["send", kind, "--to", CHAT, "--json", *args])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["message_id"].startswith("om_")
    assert [m.msg_type for m in emu.messages()] == ["image", "file", "interactive"]


@pytest.mark.parametrize(
    "post",
    [
        {"zh_cn": {"content": []}},
        {"zh_cn": {"content": [[{"tag": "text", "text": "a"}, {"tag": "img", "image_key": "i"}]]}},
        {"zh_cn": {"content": [[{"tag": "a", "text": "x", "href": "/relative"}]]}},
        {"zh_cn": {"content": [[{"tag": "img"}]]}},
    ],
    ids=["empty", "img-in-text", "relative-href", "img-without-key"],
)
def test_bad_post_file_is_a_clean_error_without_a_request(
    runner: CliRunner, emu: Emulator, tmp_path: Path, post: dict[str, object]
) -> None:
    path = tmp_path / "post.json"
    path.write_text(json.dumps(post))
    result = runner.invoke(cli, ["send", "post", "--to", CHAT, "--post", str(path)])
    assert result.exit_code == 2, result.output
    assert "ValidationError" in result.output and "Traceback" not in result.output
    assert emu.requests() == []


def test_bad_image_is_a_clean_error_without_a_request(
    runner: CliRunner, emu: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "x.png").write_bytes(b"not an image")
    result = runner.invoke(cli, ["send", "image", "--to", CHAT, str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "ValidationError" in result.output and "10 MB" in result.output
    assert "Traceback" not in result.output
    assert emu.requests() == []


def test_batch_progress_and_summary(
    runner: CliRunner, emu: Emulator, alice: str, tmp_path: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(f"# on call\n{alice}\nbob@example.com\n\n{NOBOT_CHAT}\nou_ghost\n")
    result = runner.invoke(cli, ["send", "batch", "--to-file", str(ids), "--text", "drill"])
    assert result.exit_code == 1  # some failed
    assert "2 sent, 2 failed" in result.output
    assert "PermissionDeniedError [230002]" in result.output
    assert "NotFoundError [99992351]" in result.output
    assert len(emu.messages()) == 2

    as_json = runner.invoke(
        cli, ["send", "batch", "--to-file", str(ids), "--text", "again", "--json"]
    )
    rows = json.loads(as_json.stdout)
    assert [r["ok"] for r in rows] == [True, True, False, False]
    assert rows[3]["code"] == 99992351


def test_batch_of_cards_all_sent(
    runner: CliRunner, emu: Emulator, alice: str, bob: str, tmp_path: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{alice}\n{bob}\n")
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"elements": [{"tag": "markdown", "content": "x"}]}))
    result = runner.invoke(cli, ["send", "batch", "--to-file", str(ids), "--card", str(card)])
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 failed" in result.output
    empty = tmp_path / "none.txt"
    empty.write_text("# nobody\n")
    nobody = runner.invoke(cli, ["send", "batch", "--to-file", str(empty), "--text", "x"])
    assert nobody.exit_code == 2 and "no receiver ids" in nobody.output
