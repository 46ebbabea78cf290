"""A hung state database (accepts connections, never answers) costs one connect timeout, not
one per lookup, lock and save (issue 10.10): a circuit breaker per database sends calls
straight to memory and Feishu, logs once, and probes again in the background."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lark_service import LarkClient, errors
from lark_service.config import Settings
from lark_service.credentials import CredentialPool, SqlTokenStore, reset_process_state
from lark_service.storage import dispose_all
from lark_service.storage.breaker import StoreBreaker
from lark_service.storage.crypto import SecretBox, generate_key
from lark_service.testing import Emulator

from .test_credentials_pool import KEY, OTHER, FakeClock, Fetcher

APP, SECRET, CHAT = "cli_hung", "hung-database-secret-1", "oc_hung"
CONNECT_TIMEOUT = 2  # psycopg's smallest connect_timeout


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    reset_process_state()
    yield
    reset_process_state()
    dispose_all()


@pytest.fixture
def hung_url() -> Iterator[str]:
    """A PostgreSQL URL whose server completes TCP handshakes (the kernel's backlog) and
    never says a word."""
    pytest.importorskip("psycopg")
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    port = server.getsockname()[1]
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/test?connect_timeout={CONNECT_TIMEOUT}"
    finally:
        server.close()


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def timed(fn: object, *args: object) -> tuple[object, float]:
    started = time.monotonic()
    result = fn(*args)  # type: ignore[operator]
    return result, time.monotonic() - started


def test_a_hung_database_costs_one_connect_timeout_then_nothing(
    hung_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    box = SecretBox(generate_key())
    clock = FakeClock()
    fetcher = Fetcher(clock)
    pool = CredentialPool(SqlTokenStore(hung_url, box), clock=clock)
    with caplog.at_level(logging.DEBUG, "lark_service"):
        token, first = timed(pool.get_token, KEY, fetcher)
        assert token == "t-1"
        # One timeout (the first lookup); the lock and the save are refused at once.
        assert first < CONNECT_TIMEOUT + 1.5
        # A new client in the same process: its store shares the breaker.
        other = CredentialPool(SqlTokenStore(hung_url, box), clock=clock)
        token, later = timed(other.get_token, OTHER, fetcher)
        assert token == "t-2" and later < 0.5
        # A revoked token: eviction and the new fetch skip the database too.
        _, evict = timed(pool.invalidate, KEY, "t-1")
        token, refetch = timed(pool.get_token, KEY, fetcher)
        assert token == "t-3" and evict + refetch < 0.5
    errors_logged = [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("lark")
    ]
    # Once per client (pool), not once per lookup, lock and save.
    assert len(errors_logged) == 2, [r.getMessage() for r in errors_logged]
    assert "probed again in the background" in errors_logged[0].getMessage()


def test_clients_keep_sending_while_the_state_database_hangs(
    hung_url: str, lark_emulator: Emulator, tmp_path: Path
) -> None:
    lark_emulator.add_app(APP, SECRET)
    lark_emulator.add_chat(CHAT, "Hung database")
    settings = Settings(
        home=tmp_path / "home", config_encryption_key=generate_key(), database_url=hung_url
    )
    started = time.monotonic()
    with LarkClient(APP, SECRET, base_url=lark_emulator.url, settings=settings) as client:
        client.messaging.send_text_message(CHAT, "first")
        first = time.monotonic() - started
        started = time.monotonic()
        for n in range(3):
            client.messaging.send_text_message(CHAT, f"later {n}")
    with LarkClient(APP, SECRET, base_url=lark_emulator.url, settings=settings) as client:
        client.messaging.send_text_message(CHAT, "a new client")
    later = time.monotonic() - started
    assert first < 6.0
    assert later < 2.0
    assert len(lark_emulator.messages()) == 5


def test_the_background_probe_closes_the_breaker_when_the_database_is_back(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "db"
    blocker.write_text("a file where the database's folder should be")
    box = SecretBox(generate_key())
    store = SqlTokenStore(f"sqlite:///{blocker / 'state.db'}", box, lock_dir=tmp_path / "locks")
    breaker = store.breaker()
    clock = Monotonic()
    breaker.clock = clock
    with pytest.raises(errors.StorageUnavailableError) as first:
        store.load(KEY)
    assert not getattr(first.value, "short_circuited", False)
    assert breaker.is_open

    blocker.unlink()
    blocker.mkdir()  # the database is reachable again, but nobody has looked yet
    with pytest.raises(errors.StorageUnavailableError) as refused:
        store.load(KEY)
    assert getattr(refused.value, "short_circuited", False)
    breaker.wait_probe()
    assert breaker.is_open  # no probe before the interval is over

    clock.now += breaker.retry_after
    with pytest.raises(errors.StorageUnavailableError):
        store.load(KEY)  # still refused at once; the probe runs in the background
    breaker.wait_probe()
    assert not breaker.is_open
    assert store.load(KEY) is None  # reaches the database again


def test_a_failed_probe_keeps_the_breaker_open_for_another_interval() -> None:
    clock = Monotonic()
    breaker = StoreBreaker("the test database", retry_after=10.0, clock=clock)
    assert breaker.failure("OperationalError: timeout") is True
    assert breaker.failure("OperationalError: timeout") is False  # already open

    def probe() -> None:
        raise OSError("still down")

    clock.now += 10.0
    with pytest.raises(errors.StorageUnavailableError):
        breaker.check(probe)
    breaker.wait_probe()
    assert breaker.is_open
    with pytest.raises(errors.StorageUnavailableError):
        breaker.check(probe)  # before the next interval: no new probe
    assert breaker._probe is None
    clock.now += 10.0
    with pytest.raises(errors.StorageUnavailableError):
        breaker.check(lambda: None)
    breaker.wait_probe()
    assert not breaker.is_open
    breaker.check(probe)  # closed: calls go through
