"""examples/ run as written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_platform_tour_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "platform_tour.py")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "all chats: 230 in 4 requests" in out
    assert "NO_RETRY raised at once: ServerError 502" in out
    assert "as_user: no user token stored for ou_alice" in out
    assert "refused: chat_id '..'" in out
    assert "('im', 'ServerError'): 1" in out
