"""Shared test fixtures: an isolated LARK_HOME and environment for every test, recorded retry
waits, and the real servers.

``postgres_url``: the server at ``LARK_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); ``amqp_url``: the broker at
``LARK_TEST_AMQP_URL``. Unreachable → the test is skipped, or fails when ``CI=true`` (CI must
run these). ``postgres_schema_url``: the same server with a fresh schema ``lt_<random>`` as the
only entry of ``search_path``, dropped afterwards, so tests never see each other's tables.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from lark_service import _concurrency
from lark_service.credentials.locks import shared_memory_store


@pytest.fixture(autouse=True)
def _isolated_env(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Each test gets its own LARK_HOME and no LARK_* variables from the outer environment."""
    import os

    for name in list(os.environ):
        if name.startswith("LARK_") and not name.startswith("LARK_TEST_"):
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("lark-home")
    monkeypatch.setenv("LARK_HOME", str(home))
    monkeypatch.chdir(home)  # no stray .env from the working directory
    shared_memory_store().clear()
    # the CLI configures the lark_service logger for its process (one-shot commands quiet it,
    # serve/worker set their level); under CliRunner that process is the test run itself
    import logging

    logger = logging.getLogger("lark_service")
    level, handlers = logger.level, list(logger.handlers)
    yield home
    shared_memory_store().clear()
    logger.setLevel(level)
    logger.handlers[:] = handlers


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every retry / pacing wait, recorded instead of slept (it still yields, as sleep does)."""
    recorded: list[float] = []

    def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)
        time.sleep(0)

    async def fake_async_sleep(seconds: float) -> None:
        recorded.append(seconds)
        await asyncio.sleep(0)

    monkeypatch.setattr(_concurrency, "sleep", fake_sleep)
    monkeypatch.setattr(_concurrency, "async_sleep", fake_async_sleep)
    return recorded


DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _libpq_dsn(url: str) -> str:
    """The SQLAlchemy URL as a libpq URI that psycopg accepts."""
    scheme, sep, rest = url.partition("://")
    return f"postgresql://{rest}" if sep and scheme.startswith("postgres") else url


def require_postgres() -> str:
    """The test server's URL; skips (or fails under ``CI=true``) when it is unreachable."""
    url = os.environ.get("LARK_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        import psycopg

        with psycopg.connect(_libpq_dsn(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        reason = f"PostgreSQL at LARK_TEST_POSTGRES_URL is unreachable: {type(exc).__name__}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server for tests (see module docstring)."""
    return require_postgres()


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """``postgres_url`` confined to a new, empty schema that is dropped after the test."""
    import psycopg

    from lark_service.storage import dispose_engine

    schema = f"lt_{secrets.token_hex(6)}"
    with psycopg.connect(_libpq_dsn(postgres_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    joiner = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{joiner}options={quote(f'-csearch_path={schema}')}"
    try:
        yield url
    finally:
        dispose_engine(url)
        with psycopg.connect(_libpq_dsn(postgres_url), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def require_rabbitmq() -> str:
    """The test broker's URL (``LARK_TEST_AMQP_URL``); skips, or fails under ``CI=true``."""
    import socket
    from urllib.parse import urlparse

    url = os.environ.get("LARK_TEST_AMQP_URL", DEFAULT_AMQP_URL)
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5672), 3):
            pass
    except OSError as exc:
        reason = f"RabbitMQ at LARK_TEST_AMQP_URL is unreachable: {type(exc).__name__}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (CI=true: RabbitMQ tests must run)")
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """The RabbitMQ broker for tests; use unique exchange/queue names and delete them."""
    return require_rabbitmq()
