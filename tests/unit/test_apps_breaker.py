"""The app registry's snapshot skips a failing or hung config database (issue 10.10): one
ERROR, no I/O per re-validation while its circuit breaker is open, and the apps read before
keep being served until a background probe reaches the database again."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from lark_service import errors
from lark_service.apps import AppRegistry
from lark_service.credentials import reset_process_state
from lark_service.storage import dispose_all
from lark_service.storage.crypto import SecretBox, generate_key

SECRET = "registry-breaker-secret"


class Ticker:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    reset_process_state()
    yield
    reset_process_state()
    dispose_all()


def test_a_failing_config_database_is_skipped_until_a_probe_reaches_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "db"
    url = f"sqlite:///{folder / 'config.db'}"
    box = SecretBox(generate_key())
    writer = AppRegistry(url, box)
    writer.add_app("cli_a1", SECRET)
    ticker = Ticker()
    reader = AppRegistry(url, box, clock=ticker)
    assert reader.get_app("cli_a1") is not None

    dispose_all()  # the database goes away: its folder is now a file
    folder.rename(tmp_path / "db-away")
    folder.write_text("not a directory")
    breaker = reader._db_breaker()
    breaker_clock = Ticker()
    breaker.clock = breaker_clock
    reads: list[int] = []
    original = AppRegistry._read_version

    def counted(self: AppRegistry) -> tuple[int, int, float]:
        reads.append(1)
        return original(self)

    monkeypatch.setattr(AppRegistry, "_read_version", counted)
    with caplog.at_level(logging.ERROR, "lark_service"):
        for _ in range(5):
            ticker.now += 5  # every call re-validates
            assert reader.get_app("cli_a1") is not None
    assert len(reads) == 1  # one attempt, then no I/O while the breaker is open
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    assert breaker.is_open

    # A new registry on the failing database fails at once, with the registry's error.
    with pytest.raises(errors.ConfigError, match="app registry"):
        AppRegistry(url, box).get_app("cli_a1")
    assert len(reads) == 1

    folder.unlink()  # the database is back
    (tmp_path / "db-away").rename(folder)
    writer.add_app("cli_a2", SECRET)
    ticker.now += 5
    assert reader.get_app("cli_a2") is None  # not looked at before the interval is over
    breaker_clock.now += breaker.retry_after
    ticker.now += 5
    reader.get_app("cli_a1")  # starts the background probe
    breaker.wait_probe()
    assert not breaker.is_open
    ticker.now += 5
    assert reader.get_app("cli_a2") is not None  # read again
