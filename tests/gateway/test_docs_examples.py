"""docs/gateway.md's curl, Node and Go examples, run as written against a live server with
the gateway and the emulator (each skipped only when its toolchain is not installed; curl and
node are expected on CI machines)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from lark_service.testing import Emulator

from .conftest import CHAT, LiveServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "gateway.md"


def block(language: str, after: str) -> str:
    """The first ``language`` code block after the heading ``after``."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(after)
    match = re.search(rf"```{language}\n(.*?)```", text[start:], re.S)
    assert match, f"no {language} block after {after!r}"
    return match.group(1)


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI", "").lower() == "true" and tool in ("curl", "node"):
            pytest.fail(f"{tool} is required on CI")
        pytest.skip(f"{tool} is not installed")
    return path


@pytest.fixture
def env(live: LiveServer, make_key: Callable[..., str]) -> dict[str, str]:
    return {
        **os.environ,
        "LARK_GATEWAY": live.url,
        "LARK_API_KEY": make_key(scopes=("messages:send",)),
        "CHAT_ID": CHAT,
    }


def sent_texts(emu: Emulator) -> list[str]:
    return [m.content.get("text", "") for m in emu.messages()]


def test_the_curl_example(env: dict[str, str], emu: Emulator) -> None:
    need("curl")
    script = block("bash", "### curl")
    for _ in range(2):  # the Idempotency-Key makes the second run a replay
        out = subprocess.run(
            ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert '"code":0' in out.stdout.replace(" ", "")
    assert sent_texts(emu) == ["Invoice 1001 paid"]


def test_the_node_example(env: dict[str, str], emu: Emulator, tmp_path: Path) -> None:
    node = need("node")
    script = tmp_path / "send.mjs"
    script.write_text(block("javascript", "### Node"), encoding="utf-8")
    out = subprocess.run([node, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("om_")
    assert sent_texts(emu) == ["Order 77 shipped"]


def test_the_go_example(env: dict[str, str], emu: Emulator, tmp_path: Path) -> None:
    go = need("go")
    (tmp_path / "main.go").write_text(block("go", "### Go"), encoding="utf-8")
    build_env = {**env, "GOCACHE": str(tmp_path / "cache"), "GOPATH": str(tmp_path / "gopath"),
                 "GO111MODULE": "off", "GOFLAGS": ""}  # fmt: skip
    out = subprocess.run(
        [go, "run", str(tmp_path / "main.go")],
        env=build_env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("om_")
    assert sent_texts(emu) == ["Payroll run finished"]
