"""A ``lark-service listen`` process against an emulator, for the tests and the benchmark."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_listener(
    emu_url: str, app_id: str, secret: str, out: Path, *extra: str
) -> tuple[subprocess.Popen[str], int]:
    """Start the listener (handlers: tests.longconn.fault_handlers); its process and health
    port."""
    env = {
        **os.environ,
        "LARK_HOME": str(out),
        "LC_OUT": str(out),
        "LARK_APP_ID": app_id,
        "LARK_APP_SECRET": secret,
        "LARK_BASE_URL": emu_url,
        "LARK_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lark_service",
            "listen",
            "--handlers",
            "tests.longconn.fault_handlers:router",
            "--health-port",
            "0",
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "/healthz" not in line:
        process.kill()
        raise RuntimeError(f"the listener did not start: {line}{process.stdout.read()}")
    port = int(line.rsplit(":", 1)[1].strip().strip("/"))
    stream = process.stdout
    # keep the pipe drained: a full pipe would block the listener's logging
    threading.Thread(target=lambda: [None for _ in stream], daemon=True).start()
    return process, port


def stop_listener(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> int:
    """Signal the listener, wait for it, close its pipe; its exit code."""
    if process.poll() is None:
        process.send_signal(sig)
    code = process.wait(60)
    if process.stdout is not None:
        process.stdout.close()
    return code
