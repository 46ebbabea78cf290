"""The README's Python examples run as written, against the emulator (only the setup differs)."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest

from lark_service.storage.crypto import generate_key
from lark_service.testing.emulator.server import Emulator

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_blocks() -> dict[str, str]:
    """The README's ```python blocks, keyed by the heading above each."""
    blocks: dict[str, str] = {}
    heading = ""
    for match in re.finditer(
        r"^## ([^\n]+)$|^```python\n(.*?)^```", README.read_text(), re.M | re.S
    ):
        if match.group(1):
            heading = match.group(1).strip()
        else:
            blocks.setdefault(heading, "")
            blocks[heading] += match.group(2)
    return blocks


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0\0\0\0"))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def world(lark_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The apps, people, chats and files the README's examples name."""
    emu = lark_emulator
    monkeypatch.setenv("LARK_BASE_URL", emu.url)
    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", generate_key())
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chart.png").write_bytes(_png())
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    for app_id in ("cli_a1", "cli_b2"):
        emu.add_app(app_id, "...")
    from lark_service.apps import AppRegistry
    from lark_service.config import get_settings

    AppRegistry.from_settings(get_settings()).add_app("cli_b2", "...", domain=emu.url)
    emu.add_department("eng", "Engineering", open_department_id="od-eng")
    emu.add_user("alice", email="alice@example.com", name="Alice", department_ids=["eng"])
    emu.add_user("u123", name="Someone", open_id="ou_123")
    emu.add_user("u1", open_id="ou_1")
    emu.add_user("u2", open_id="ou_2")
    emu.add_chat("oc_ops_chat", "Ops Alerts")
    return emu


def test_the_readme_has_the_examples_this_test_runs() -> None:
    assert {"Send a message", "Find people and chats", "Handle card clicks and events"} <= set(
        _python_blocks()
    )


def test_send_a_message_example_runs(world: Emulator) -> None:
    namespace: dict[str, object] = {}
    exec(_python_blocks()["Send a message"], namespace)
    namespace["client"].close()  # type: ignore[attr-defined]
    result = namespace["result"]
    assert [item.receive_id for item in result.failed] == ["bad"]  # type: ignore[attr-defined]
    kinds = {m.msg_type for m in world.messages()}
    assert {"text", "post", "image", "file", "interactive"} <= kinds
    assert any(m.app_id == "cli_b2" for m in world.messages())


def test_find_people_example_runs(world: Emulator) -> None:
    from lark_service import LarkClient

    namespace: dict[str, object] = {"client": LarkClient("cli_a1", "...")}
    exec(_python_blocks()["Find people and chats"], namespace)
    namespace["client"].close()  # type: ignore[attr-defined]
    assert namespace["user"].email == "alice@example.com"  # type: ignore[attr-defined]


def test_callback_example_defines_a_router() -> None:
    namespace: dict[str, object] = {"approve_request": lambda *a, **k: None}
    exec(_python_blocks()["Handle card clicks and events"], namespace)
    assert namespace["router"] is not None


def test_documents_and_tables_example_runs(world: Emulator, tmp_path: Path) -> None:
    from lark_service import LarkClient
    from lark_service.testing.emulator.bitable_state import NUMBER, SINGLE, TEXT, bitable_of

    (tmp_path / "report.md").write_text("# Weekly report\n\nAll green.\n", encoding="utf-8")
    world.add_user("team", email="team@example.com", name="Team")
    bitable_of(world).add_table(
        "bascnBase",
        "Incidents",
        {"Title": TEXT, "Status": SINGLE, "Score": NUMBER},
        table_id="tblIncidents",
        options={"Status": ["Open", "Closed"]},
    )
    rows = [
        {"Title": "disk full", "Status": "Open", "Score": 90},
        {"Title": "slow page", "Status": "Open", "Score": 40},
        {"Title": "old alert", "Status": "Closed", "Score": 95},
    ]
    client = LarkClient("cli_a1", "...")
    namespace: dict[str, object] = {"client": client, "rows": rows}
    try:
        exec(_python_blocks()["Documents and tables"], namespace)
        doc = namespace["doc"]
        assert "All green." in client.docs.to_markdown(doc.document_id)  # type: ignore[attr-defined]
    finally:
        client.close()
    assert namespace["record"]["Title"] == "disk full"  # type: ignore[index]
