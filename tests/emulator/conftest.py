from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lark_service.testing import Emulator

from ._helpers import tenant_token


@pytest.fixture
def emu(lark_emulator: Emulator) -> Emulator:
    """The session emulator, reset, with the demo data."""
    lark_emulator.seed_demo()
    return lark_emulator


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, timeout=10) as client:
        yield client


@pytest.fixture
def token(http: httpx.Client) -> str:
    return tenant_token(http)
