"""`lark-service serve` as a process, driven by `lark-service callbacks simulate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lark_service.callbacks import OutboxStore
from lark_service.cli import cli
from tests.callbacks._procs import ServeProcess
from tests.callbacks._support import EK, VT, wait_until
from tests.callbacks.sample_handlers import read_effects

APP = "cli_cbe2e"


def simulate(url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        [
            "callbacks",
            "simulate",
            "--url",
            url,
            "--app-id",
            APP,
            "--encrypt-key",
            EK,
            "--verification-token",
            VT,
            *args,
        ],
    )
    return result.exit_code, result.output


@pytest.mark.slow
def test_serve_simulate_dedup_and_graceful_stop(tmp_path: Path) -> None:
    effects = tmp_path / "effects.log"
    home = tmp_path / "home"
    with ServeProcess(APP, home, effects) as server:
        card_url = f"{server.url}/callbacks/{APP}/card"
        code, out = simulate(card_url, "--type", "url-verification")
        assert code == 0 and '"challenge": "simulated-challenge"' in out
        for _ in range(2):  # the second is a replay of the same event id
            code, out = simulate(
                card_url, "--value", '{"action": "approve"}', "--event-id", "evt-e2e-1"
            )
            assert code == 0 and "HTTP 200" in out
        code, out = simulate(f"{server.url}/callbacks/event", "--type", "message", "--text", "hi")
        assert code == 0 and '"msg": "success"' in out
        code, out = simulate(card_url, "--type", "legacy-card", "--value", '{"a": 1}')
        assert code == 0, out
        wait_until(
            lambda: sum(1 for x in read_effects(str(effects)) if x[0] in ("done", "message")) >= 3,
            what="handlers",
        )
        code, out = simulate(card_url, "--encrypt-key", "wrong-key")
        assert code == 1 and "HTTP 400" in out  # cannot decrypt
        assert server.terminate()
    lines = read_effects(str(effects))
    assert [x[1] for x in lines if x[0] == "done"].count("evt-e2e-1") == 1
    counts = OutboxStore(f"sqlite:///{home / 'state.db'}").counts()
    assert counts == {"done": 3}


def test_serve_with_missing_handlers_is_a_clean_error() -> None:
    result = CliRunner().invoke(cli, ["serve", "--handlers", "no_such_module_xyz:router"])
    assert result.exit_code == 1
    assert "cannot import handlers" in result.output and "Traceback" not in result.output


def test_outbox_dlq_list_and_replay(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = OutboxStore(url)
    item = store.accept(
        app_id=APP,
        kind="card",
        dedup_keys=["evt:d"],
        event_id="d",
        event_type="card.action.trigger",
        payload={},
        lease=1,
    )
    assert item is not None
    store.bury(item, "RuntimeError: boom")
    runner = CliRunner()
    listed = runner.invoke(cli, ["callbacks", "dlq", "list", "--database-url", url, "--json"])
    assert listed.exit_code == 0
    assert [(i["id"], i["last_error"]) for i in json.loads(listed.output)] == [
        (item, "RuntimeError: boom")
    ]
    replayed = runner.invoke(cli, ["callbacks", "dlq", "replay", "--database-url", url])
    assert replayed.exit_code == 0 and "replayed 1" in replayed.output
    assert store.counts() == {"pending": 1}
    empty = runner.invoke(cli, ["callbacks", "dlq", "list", "--database-url", url])
    assert "empty" in empty.output
    bad = runner.invoke(cli, ["callbacks", "dlq", "list", "--source", "queue"])
    assert bad.exit_code == 2
