"""Fork safety of the credential pool, the token store and the app registry (issue 10.1), and
``reset_process_state`` (issue 10.9).

A parent thread holding a lock at fork time leaves it taken forever in the child, where that
thread does not exist: the child must start with fresh locks and no inherited background work.
Each child runs with a bounded join, so a deadlock fails the test instead of hanging it.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from lark_service.apps import AppRegistry
from lark_service.credentials import (
    CredentialPool,
    MemoryTokenStore,
    SqlTokenStore,
    TokenKey,
    TokenRecord,
    reset_process_state,
)
from lark_service.credentials.locks import PROCESS_LOCKS, shared_memory_store
from lark_service.storage import dispose_all
from lark_service.storage.crypto import SecretBox, generate_key

from .test_credentials_pool import KEY, FakeClock, Fetcher

CHILD_TIMEOUT = 20.0


def in_fork(work: Callable[[], object]) -> object:
    """Run ``work`` in a forked child; return what it returned (or fail on a hang/crash)."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.SimpleQueue()

    def target() -> None:
        try:
            results.put(("ok", work()))
        except BaseException as exc:  # reported to the parent
            results.put(("error", f"{type(exc).__name__}: {exc}"))

    child = ctx.Process(target=target)
    child.start()
    child.join(CHILD_TIMEOUT)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail("the forked child hung (a lock inherited from the parent?)")
    assert child.exitcode == 0
    status, value = results.get()
    assert status == "ok", value
    return value


class GatedFetcher(Fetcher):
    """Signals ``entered`` once a fetch is inside the lock, then waits for ``gate``."""

    entered: threading.Event

    def __call__(self, key: TokenKey) -> TokenRecord:
        self.entered.set()
        return super().__call__(key)


def test_a_child_forked_during_a_background_refresh_fetches_and_refreshes() -> None:
    clock = FakeClock()
    fetcher = GatedFetcher(clock)
    fetcher.entered = threading.Event()
    pool = CredentialPool(MemoryTokenStore(), clock=clock)
    assert pool.get_token(KEY, fetcher) == "t-1"
    clock.advance(7000)  # due for refresh: the next call starts one in a background thread
    fetcher.entered.clear()
    fetcher.gate = threading.Event()
    assert pool.get_token(KEY, fetcher) == "t-1"
    assert fetcher.entered.wait(10)  # the refresh thread holds the token's lock, waiting

    def child() -> object:
        child_fetcher = Fetcher(clock, calls=[KEY] * 10)  # issues t-11, t-12, ...
        # Still valid but due: the parent's refresh does not exist here, so the child starts
        # its own, under the token's lock that the parent's refresh thread held at fork time.
        assert pool.get_token(KEY, child_fetcher) == "t-1"
        pool.background.wait(10)
        clock.advance(300)  # the parent's token has expired: the refreshed one is used
        return len(child_fetcher.calls) - 10, pool.get_token(KEY, child_fetcher)

    try:
        assert in_fork(child) == (1, "t-11")
    finally:
        fetcher.gate.set()
        pool.background.wait()


def test_a_forked_child_uses_the_sqlite_store_and_its_file_lock(tmp_path: Path) -> None:
    box = SecretBox(generate_key())
    store = SqlTokenStore(f"sqlite:///{tmp_path / 'state.db'}", box, home=tmp_path)
    clock = FakeClock()
    pool = CredentialPool(store, clock=clock)
    assert pool.get_token(KEY, Fetcher(clock)) == "t-1"  # the engine has pooled connections

    def child() -> object:
        other = CredentialPool(store, clock=clock)  # a new client in the child
        first = other.get_token(KEY, Fetcher(clock))
        store.delete(KEY)
        clock.advance(8000)
        return first, other.get_token(KEY, Fetcher(clock, calls=[KEY] * 4))

    try:
        assert in_fork(child) == ("t-1", "t-5")
        assert store.load(KEY) is not None  # the parent's engine still works
    finally:
        dispose_all()


def test_a_forked_child_reads_a_registry_whose_guard_a_parent_thread_held(
    tmp_path: Path,
) -> None:
    registry = AppRegistry(f"sqlite:///{tmp_path / 'config.db'}", SecretBox(generate_key()))
    registry.add_app("cli_fork", "fork-secret-0001")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with registry._guard:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert held.wait(10)

    def child() -> object:
        registry.refresh()
        app = registry.get_app("cli_fork")
        return app.app_id if app else None

    try:
        assert in_fork(child) == "cli_fork"
    finally:
        release.set()
        holder.join()
        dispose_all()


def test_reset_process_state_forgets_memory_tokens_and_held_locks() -> None:
    clock = FakeClock()
    fetcher = Fetcher(clock)
    assert CredentialPool(clock=clock).get_token(KEY, fetcher) == "t-1"
    assert shared_memory_store().load(KEY) is not None
    stuck = PROCESS_LOCKS.get(KEY)
    stuck.acquire()  # e.g. a test that ended while a fetch held the lock
    try:
        reset_process_state()
        assert shared_memory_store().load(KEY) is None
        pool = CredentialPool(clock=clock)
        result: list[str] = []
        worker = threading.Thread(target=lambda: result.append(pool.get_token(KEY, fetcher)))
        worker.start()
        worker.join(10)
        assert result == ["t-2"]  # fetched again, without waiting for the stuck lock
    finally:
        stuck.release()
