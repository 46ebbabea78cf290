"""Fixtures for the callback tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from lark_service.callbacks import CallbackKeys, CallbackRouter, StaticKeys

from ._support import APP, EK, VT, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keys() -> StaticKeys:
    return StaticKeys(CallbackKeys(APP, encrypt_key=EK, verification_token=VT))


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def router() -> CallbackRouter:
    return CallbackRouter()
