"""One token fetch across processes and hosts; a restarted process reuses the stored token.

Each "process" is a real Python subprocess running :data:`CHILD` (or :data:`FRESH_CHILD`, on a
machine where nothing was set up) (threads sending through the
emulator, which runs in the test process). A "host" is a separate ``LARK_HOME``: its own
files and file locks, sharing only the PostgreSQL token store with the other host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from lark_service._app import secret_fingerprint
from lark_service.credentials import TokenKey, TokenRecord
from lark_service.storage import dispose_all
from lark_service.storage.crypto import generate_key
from lark_service.storage.migrate import ensure_schema
from lark_service.testing import Emulator

pytestmark = pytest.mark.slow

APP, SECRET, CHAT = "cli_multi", "multi-process-secret-01", "oc_multi"
PROCESSES, THREADS = 4, 25

CHILD = r"""
import json, sys, threading
from lark_service import LarkClient
from lark_service.storage.migrate import ensure_schema

url, app_id, secret, chat, threads = sys.argv[1:6]
client = LarkClient(app_id, secret, base_url=url)
ensure_schema(client.settings.resolved_database_url, "state")  # the process is up
print("ready", flush=True)
sys.stdin.readline()  # every process starts at once

barrier = threading.Barrier(int(threads))
sent, failures = [], []

def work():
    barrier.wait()
    try:
        sent.append(client.messaging.send_text_message(chat, "stampede").message_id)
    except Exception as exc:
        failures.append(f"{type(exc).__name__}: {exc}")

workers = [threading.Thread(target=work) for _ in range(int(threads))]
for w in workers:
    w.start()
for w in workers:
    w.join(60)
client.close()
print(json.dumps({"sent": len(sent), "failures": failures}), flush=True)
"""


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    dispose_all()


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    lark_emulator.add_app(APP, SECRET)
    lark_emulator.add_chat(CHAT, "Multi-process")
    return lark_emulator


def host_env(home: Path, key: str, database_url: str | None = None) -> dict[str, str]:
    """The environment of a process on a host whose files live in ``home``.

    The state database is migrated here, once: the children race for the token, not for
    the schema (migrations have their own tests).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("LARK_")}
    env.update(LARK_HOME=str(home), LARK_CONFIG_ENCRYPTION_KEY=key, LARK_LOG_LEVEL="WARNING")
    if database_url:
        env["LARK_DATABASE_URL"] = database_url
    ensure_schema(database_url or f"sqlite:///{home / 'state.db'}", "state")
    return env


def run_processes(
    emu: Emulator, envs: Sequence[dict[str, str]], threads: int = THREADS
) -> list[dict[str, object]]:
    """Start one child per env, release them together, return their reports."""
    args = [sys.executable, "-c", CHILD, emu.url, APP, SECRET, CHAT, str(threads)]
    children = [
        subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env in envs
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            if line.strip() != "ready":
                _, err = child.communicate(timeout=30)
                pytest.fail(f"child did not start: {line!r}\n{err}")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        reports = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def assert_all_sent(reports: list[dict[str, object]], threads: int = THREADS) -> None:
    assert [r["failures"] for r in reports] == [[]] * len(reports)
    assert [r["sent"] for r in reports] == [threads] * len(reports)


def test_cold_start_of_4_processes_x_25_threads_fetches_once(emu: Emulator, tmp_path: Path) -> None:
    env = host_env(tmp_path / "home", generate_key())
    reports = run_processes(emu, [env] * PROCESSES)
    assert_all_sent(reports)
    assert len(emu.messages()) == PROCESSES * THREADS
    assert emu.token_fetches(APP) == 1


def test_a_restarted_process_uses_the_stored_token(emu: Emulator, tmp_path: Path) -> None:
    env = host_env(tmp_path / "home", generate_key())
    assert_all_sent(run_processes(emu, [env], threads=2), threads=2)
    assert emu.token_fetches(APP) == 1
    assert_all_sent(run_processes(emu, [env], threads=2), threads=2)  # a new process
    assert emu.token_fetches(APP) == 1
    assert len(emu.messages()) == 4


@pytest.mark.postgres
def test_two_hosts_sharing_postgresql_fetch_once(
    emu: Emulator, tmp_path: Path, postgres_schema_url: str
) -> None:
    key = generate_key()
    host_a = host_env(tmp_path / "host-a", key, postgres_schema_url)
    host_b = host_env(tmp_path / "host-b", key, postgres_schema_url)
    reports = run_processes(emu, [host_a, host_b, host_a, host_b])
    assert_all_sent(reports)
    assert emu.token_fetches(APP) == 1
    # Neither host took a file lock: only the advisory lock coordinated them.
    for home in (tmp_path / "host-a", tmp_path / "host-b"):
        assert not (home / "locks").exists()
        assert not (home / "state.db").exists()
    # A restarted process on either host reuses the shared token.
    assert_all_sent(run_processes(emu, [host_b], threads=1), threads=1)
    assert emu.token_fetches(APP) == 1


# --- tokens persist out of the box (issue 9.9) ------------------------------------------------

FRESH_CHILD = r"""
import json, logging, sys, threading
logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(message)s")
from lark_service import LarkClient

url, app_id, secret, chat, threads = sys.argv[1:6]
client = LarkClient(app_id, secret, base_url=url)  # no key, no init: a fresh machine
print("ready", flush=True)
sys.stdin.readline()  # every process starts at once

barrier = threading.Barrier(int(threads))
sent, failures = [], []

def work():
    barrier.wait()
    try:
        sent.append(client.messaging.send_text_message(chat, "fresh").message_id)
    except Exception as exc:
        failures.append(f"{type(exc).__name__}: {exc}")

workers = [threading.Thread(target=work) for _ in range(int(threads))]
for w in workers:
    w.start()
for w in workers:
    w.join(60)
client.close()
print(json.dumps({"sent": len(sent), "failures": failures}), flush=True)
"""


def fresh_env(home: Path) -> dict[str, str]:
    """A process on a fresh machine: only LARK_HOME (which does not exist yet)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LARK_")}
    env.update(LARK_HOME=str(home), LARK_LOG_LEVEL="WARNING")
    return env


def run_fresh(
    emu: Emulator, envs: Sequence[dict[str, str]], threads: int
) -> list[tuple[dict[str, object], str]]:
    """Like :func:`run_processes` with :data:`FRESH_CHILD`; also returns each one's stderr."""
    args = [sys.executable, "-c", FRESH_CHILD, emu.url, APP, SECRET, CHAT, str(threads)]
    children = [
        subprocess.Popen(
            args,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for env in envs
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            if line.strip() != "ready":
                _, err = child.communicate(timeout=30)
                pytest.fail(f"child did not start: {line!r}\n{err}")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        reports = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            reports.append((json.loads(out.strip().splitlines()[-1]), err))
        return reports
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def test_8_processes_on_a_fresh_home_create_it_once_and_fetch_once(
    emu: Emulator, tmp_path: Path
) -> None:
    home = tmp_path / "fresh" / "lark-home"  # neither exists yet
    results = run_fresh(emu, [fresh_env(home)] * 8, threads=3)
    assert_all_sent([report for report, _ in results], threads=3)
    assert emu.token_fetches(APP) == 1
    assert (home.stat().st_mode & 0o777) == 0o700
    env_file = home / ".env"
    assert (env_file.stat().st_mode & 0o777) == 0o600
    keys = [
        line for line in env_file.read_text().splitlines() if "LARK_CONFIG_ENCRYPTION_KEY" in line
    ]
    assert len(keys) == 1  # one key, written once
    assert (home / "state.db").is_file()
    for _, err in results:
        assert "ERROR" not in err, err
    # A later process (a restart) reuses the stored token.
    assert_all_sent([r for r, _ in run_fresh(emu, [fresh_env(home)], threads=1)], threads=1)
    assert emu.token_fetches(APP) == 1


def test_a_home_that_cannot_be_written_keeps_tokens_in_memory_with_one_log_line(
    emu: Emulator, tmp_path: Path
) -> None:
    blocker = tmp_path / "read-only"
    blocker.write_text("a file: nothing can be created below it")
    results = run_fresh(emu, [fresh_env(blocker / "home")], threads=4)
    assert_all_sent([report for report, _ in results], threads=4)
    assert emu.token_fetches(APP) == 1  # one fetch, kept in the process's memory
    ((_, err),) = results
    said = [line for line in err.splitlines() if "cannot be written" in line]
    assert len(said) == 1, err
    assert said[0].startswith("WARNING") and "memory" in said[0]
    assert "ERROR" not in err, err


@pytest.mark.postgres
def test_two_homes_sharing_postgresql_with_different_keys_say_so_once_and_keep_working(
    emu: Emulator, tmp_path: Path, postgres_schema_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from lark_service.credentials import CredentialPool, SqlTokenStore, reset_process_state
    from lark_service.storage.crypto import SecretBox

    reset_process_state()
    ensure_schema(postgres_schema_url, "state")
    box_a, box_b = SecretBox(generate_key()), SecretBox(generate_key())
    key = TokenKey(APP, secret_fingerprint(SECRET), "tenant")
    fetches: list[str] = []

    def fetch(k: TokenKey) -> TokenRecord:
        fetches.append(k.app_id)
        now = time.time()
        return TokenRecord(k, f"t-{len(fetches)}", expires_at=now + 7200, issued_at=now)

    with caplog.at_level(logging.INFO, "lark_service"):
        for _ in range(3):  # each round: a process of home A, then one of home B, starting
            a = CredentialPool(SqlTokenStore(postgres_schema_url, box_a, home=tmp_path / "a"))
            b = CredentialPool(SqlTokenStore(postgres_schema_url, box_b, home=tmp_path / "b"))
            assert a.get_token(key, fetch).startswith("t-")
            assert b.get_token(key, fetch).startswith("t-")
            assert a.get_token(key, fetch) and b.get_token(key, fetch)  # memory: no refetch
    assert len(fetches) == 6  # both keep working (each home fetches its own)
    said = [
        r
        for r in caplog.records
        if r.levelno == logging.ERROR and "different LARK_CONFIG_ENCRYPTION_KEY" in r.getMessage()
    ]
    assert len(said) == 1
    assert "same key" in said[0].getMessage()  # the fix
    others = [r for r in caplog.records if r.levelno >= logging.ERROR and r not in said]
    assert others == []
    reset_process_state()
