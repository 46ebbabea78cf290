"""Running ``lark-service serve`` as a subprocess for the multi-process tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from ._support import EK, VT, free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = str(ROOT / "tests" / "callbacks" / "sample_handlers.py") + ":router"


class ServeProcess:
    """``lark-service serve`` on a free port, with the sample handlers and the test app keys."""

    def __init__(self, app_id: str, home: Path, effects: Path, *args: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        self.log = home / f"serve-{self.port}.log"
        full_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("LARK_")},
            "LARK_HOME": str(home),
            "LARK_APP_ID": app_id,
            "LARK_ENCRYPT_KEY": EK,
            "LARK_VERIFICATION_TOKEN": VT,
            "CB_EFFECTS": str(effects),
            "PYTHONPATH": str(ROOT),
            **env,
        }
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lark_service.cli",
                    "serve",
                    "--port",
                    str(self.port),
                    "--handlers",
                    HANDLERS,
                    *args,
                ],
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.log.read_text()}")
            try:
                return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=timeout, what="server ready")

    def terminate(self, timeout: float = 20.0) -> bool:
        """SIGTERM; True when it shut down gracefully (uvicorn re-raises the signal after its
        graceful shutdown, so the exit status is -SIGTERM either way: the log tells)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code in (0, -signal.SIGTERM) and "callback server stopped" in self.log.read_text()

    def __enter__(self) -> ServeProcess:
        self.wait_ready()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
