"""``lark-service bitable query|import|export`` against the emulator."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lark_service.bitable.filter import parse_condition
from lark_service.cli import cli
from lark_service.errors import ValidationError
from lark_service.testing import Emulator
from lark_service.testing.emulator.bitable_state import BitableState

from .conftest import APP_ID, BASE, SECRET


@pytest.fixture
def runner(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LARK_APP_ID", APP_ID)
    monkeypatch.setenv("LARK_APP_SECRET", SECRET)
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    monkeypatch.setenv("LARK_DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")
    return CliRunner()


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_parse_condition() -> None:
    assert parse_condition("Title ~ a=b").as_wire() == {
        "field_name": "Title",
        "operator": "contains",
        "value": ["a=b"],
    }
    assert parse_condition("Score >= 80").operator == "isGreaterEqual"
    assert parse_condition("Owner is not empty").operator == "isNotEmpty"
    with pytest.raises(ValidationError, match="no operator"):
        parse_condition("Score 80")
    with pytest.raises(ValidationError, match="no value"):
        parse_condition("Score >")


def test_import_then_query_then_export(
    runner: CliRunner, base: BitableState, table: str, tmp_path: Path
) -> None:
    rows = [["Name", "Score", "Status"]]
    rows += [[f"r{i}", str(i), "Open" if i % 2 else "Closed"] for i in range(1, 601)]
    rows.append(["bad", "lots", "Open"])
    source = _write(tmp_path / "in.csv", rows)

    result = runner.invoke(cli, ["bitable", "import", BASE, table, str(source)])
    assert result.exit_code == 1, result.output  # one row failed
    assert "600 record(s) created, 1 failed (2 write call(s))" in result.output
    assert "602" in result.output and "Score" in result.output  # the failing line, the field
    assert len(base.records(BASE, table)) == 600

    found = runner.invoke(
        cli,
        ["bitable", "query", BASE, table, "--filter", "Status = Open", "--filter", "Score > 590",
         "--sort", "-Score", "--csv"],
    )  # fmt: skip
    assert found.exit_code == 0, found.output
    lines = list(csv.reader(io.StringIO(found.output)))
    assert lines[0][:4] == ["record_id", "Name", "Score", "Status"]
    assert [line[1] for line in lines[1:]] == ["r599", "r597", "r595", "r593", "r591"]

    as_json = runner.invoke(
        cli, ["bitable", "query", BASE, table, "--filter", "Score <= 2", "--any",
              "--filter", "Name = r10", "--json"]
    )  # fmt: skip
    assert as_json.exit_code == 0, as_json.output
    assert sorted(r["Name"] for r in json.loads(as_json.output)) == ["r1", "r10", "r2"]
    scores = {r["Name"]: r["Score"] for r in json.loads(as_json.output)}
    assert all(isinstance(v, (int, float)) for v in scores.values()), scores  # numbers stay numbers

    target = tmp_path / "out.csv"
    exported = runner.invoke(
        cli, ["bitable", "export", BASE, table, str(target), "--filter", "Status = Closed"]
    )
    assert exported.exit_code == 0, exported.output
    assert "300 record(s) written" in exported.output
    with target.open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 300


def test_errors_speak_cli_terms(runner: CliRunner, table: str, tmp_path: Path) -> None:
    unknown = runner.invoke(cli, ["bitable", "query", BASE, table, "--filter", "Colour = red"])
    assert unknown.exit_code == 2 and "ValidationError" in unknown.output
    assert "Colour" in unknown.output and "Traceback" not in unknown.output
    missing = runner.invoke(cli, ["bitable", "query", BASE, "tblNope"])
    assert missing.exit_code == 1 and "NotFoundError" in missing.output
    empty = _write(tmp_path / "empty.csv", [["Name"]])
    nothing = runner.invoke(cli, ["bitable", "import", BASE, table, str(empty)])
    assert nothing.exit_code == 2 and "no rows" in nothing.output
