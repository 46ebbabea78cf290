"""Fixtures for tests against real servers (PostgreSQL).

``postgres_url``: the server at ``LARK_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Unreachable → the test is skipped,
or fails when ``CI=true`` (CI must run these).

``postgres_schema_url``: the same server with a fresh schema ``lt_<random>`` as the only
entry of ``search_path``, dropped afterwards, so tests never see each other's tables.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from urllib.parse import quote

import pytest

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
