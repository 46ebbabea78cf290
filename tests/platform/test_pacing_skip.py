"""The pipeline skips the pacing step for calls of a family without limits, and still paces
the families that have them."""

from __future__ import annotations

from typing import Any

import pytest

from lark_service import LarkClient, PacingTable

from .conftest import APP_A


def _count_pacer_calls(client: LarkClient, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    pacer = client._pipeline.pacer
    calls: list[str] = []
    for name in ("reserve", "admit"):
        original = getattr(pacer, name)

        def counted(*args: Any, _name: str = name, _original: Any = original) -> float:
            calls.append(f"{_name}:{args[1]}")
            return float(_original(*args))

        monkeypatch.setattr(pacer, name, counted)
    return calls


def test_unpaced_family_skips_the_pacer(emu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with LarkClient(APP_A[0], APP_A[1], base_url=emu.url, pacing=PacingTable.unlimited()) as c:
        calls = _count_pacer_calls(c, monkeypatch)
        c.messaging.send_text_message("ou_alice", "hi")
    assert calls == []


def test_paced_family_still_goes_through_the_pacer(
    emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LarkClient(APP_A[0], APP_A[1], base_url=emu.url) as c:
        calls = _count_pacer_calls(c, monkeypatch)
        c.messaging.send_text_message("ou_alice", "hi")
    assert calls == ["reserve:im.send", "admit:im.send"]
