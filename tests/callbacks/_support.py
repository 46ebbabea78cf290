"""Helpers shared by the callback tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from lark_service.callbacks.simulate import signed_request

APP = "cli_cbtest"
EK = "test-encrypt-key"
VT = "test-verification-token"


class FakeClock:
    """Epoch seconds that tests move by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def sign(
    payload: dict[str, Any], clock: Callable[[], float], **kw: Any
) -> tuple[dict[str, str], bytes]:
    """Encrypted and signed with the test app's keys, timestamped by ``clock``."""
    kw.setdefault("encrypt_key", EK)
    kw.setdefault("verification_token", VT)
    return signed_request(payload, timestamp=str(int(clock())), **kw)


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan and give an httpx client talking to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
