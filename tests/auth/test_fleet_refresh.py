"""The single-use refresh token across a fleet: 4 processes x 25 threads call as one user
whose access token is due; exactly one refresh request reaches Feishu, none is refused
(``invalid_grant``), and the user is still authorized afterwards. On SQLite (one home: the
file lock) and on PostgreSQL shared by two homes (the advisory lock; no file lock taken)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from lark_service import LarkClient
from lark_service.storage import dispose_all
from lark_service.storage.crypto import generate_key
from lark_service.storage.migrate import ensure_schema
from lark_service.testing import Emulator
from lark_service.testing.emulator.oauth_state import oauth

from .conftest import APP_ID, REDIRECT, SECRET, consent

pytestmark = pytest.mark.slow

PROCESSES, THREADS = 4, 25

CHILD = r"""
import json, sys, threading
from lark_service import LarkClient
from lark_service.storage.migrate import ensure_schema

url, app_id, secret, open_id, threads = sys.argv[1:6]
client = LarkClient(app_id, secret, base_url=url)
ensure_schema(client.settings.resolved_database_url, "state")
print("ready", flush=True)
sys.stdin.readline()

barrier = threading.Barrier(int(threads))
done, failures = [], []

def work():
    barrier.wait()
    try:
        done.append(client.as_user(open_id).auth.user_info().open_id == open_id)
    except Exception as exc:
        failures.append(f"{type(exc).__name__}: {exc}")

workers = [threading.Thread(target=work) for _ in range(int(threads))]
for w in workers:
    w.start()
for w in workers:
    w.join(60)
client.close()
print(json.dumps({"ok": sum(done), "failures": failures}), flush=True)
"""


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    dispose_all()


def host_env(home: Path, key: str, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LARK_")}
    env.update(LARK_HOME=str(home), LARK_CONFIG_ENCRYPTION_KEY=key, LARK_LOG_LEVEL="WARNING")
    if database_url:
        env["LARK_DATABASE_URL"] = database_url
    ensure_schema(database_url or f"sqlite:///{home / 'state.db'}", "state")
    return env


def authorize_due_user(
    emu: Emulator, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> tuple[str, LarkClient]:
    """Alice authorizes (through the consent page) in this process, with the settings of
    ``env``; her stored access token is then made due (expired), her refresh token kept."""
    for name in ("LARK_HOME", "LARK_CONFIG_ENCRYPTION_KEY", "LARK_DATABASE_URL"):
        if name in env:
            monkeypatch.setenv(name, env[name])
    client = LarkClient(APP_ID, SECRET, base_url=emu.url)
    user = emu.open_id("alice", APP_ID)
    url = client.auth.authorization_url(user, ["apaas:workspace"], redirect_uri=REDIRECT)
    answer = consent(url)
    client.auth.complete_authorization(answer["code"], answer["state"])
    pool = client._pipeline.pool
    key = next(k for k in pool._memory if k.subject == user)
    stored = pool.store.load(key)
    assert stored is not None and stored.refresh_token
    now = time.time()
    pool.store.save(dataclasses.replace(stored, issued_at=now - 7200, expires_at=now - 1))
    pool._memory.clear()
    pool._hot.clear()
    return user, client


def run_processes(
    emu: Emulator, envs: Sequence[dict[str, str]], user: str
) -> list[dict[str, object]]:
    args = [sys.executable, "-c", CHILD, emu.url, APP_ID, SECRET, user, str(THREADS)]
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
            out, err = child.communicate(timeout=180)
            assert child.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return reports
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def check(emu: Emulator, reports: list[dict[str, object]], user: str, client: LarkClient) -> None:
    assert [r["failures"] for r in reports] == [[]] * PROCESSES
    assert [r["ok"] for r in reports] == [THREADS] * PROCESSES
    stats = oauth(emu.state)
    assert stats.refresh_requests == 1
    assert stats.invalid_grants == 0
    assert client.auth.status(user).authorized
    # and the rotated refresh token still works: one more refresh from this process
    pool = client._pipeline.pool
    now = time.time()
    pool.clock = lambda: now + 7200
    assert client.as_user(user).auth.user_info().open_id == user
    assert stats.refresh_requests == 2 and stats.invalid_grants == 0


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    lark_emulator.add_app(APP_ID, SECRET)
    lark_emulator.add_user("alice", name="Alice")
    return lark_emulator


def test_4_processes_x_25_threads_refresh_once_on_sqlite(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = host_env(tmp_path / "home", generate_key())
    user, client = authorize_due_user(emu, env, monkeypatch)
    with client:
        reports = run_processes(emu, [env] * PROCESSES, user)
        check(emu, reports, user, client)


@pytest.mark.postgres
def test_two_hosts_on_postgresql_refresh_once(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_schema_url: str
) -> None:
    key = generate_key()
    host_a = host_env(tmp_path / "host-a", key, postgres_schema_url)
    host_b = host_env(tmp_path / "host-b", key, postgres_schema_url)
    user, client = authorize_due_user(emu, host_a, monkeypatch)
    with client:
        reports = run_processes(emu, [host_a, host_b, host_a, host_b], user)
        check(emu, reports, user, client)
    for home in (tmp_path / "host-a", tmp_path / "host-b"):
        assert not (home / "locks").exists()
