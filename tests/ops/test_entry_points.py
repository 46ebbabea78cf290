"""The image's commands, run the way the image runs them: the package installed with the
``server`` extra into a clean virtualenv (no dev tools, no editable install), then
``lark-service --version`` and ``serve/worker/scheduler/db --help``; ``serve`` answering
``/healthz`` and ``/metrics``.

Proves the Dockerfile's ENTRYPOINT/CMD and compose commands exist in a plain install; it does
not run a container (no Docker engine here; see docs/deployment.md).
"""

from __future__ import annotations

import signal
import subprocess
import venv
from pathlib import Path

import pytest

from lark_service import __version__

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("clean-venv") / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    python = target / "bin" / "python"
    result = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            f"{ROOT}[server,metrics]",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return target / "bin"


def _run(bindir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bindir / "lark-service"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(bindir.parent)},
    )


def test_version(installed: Path) -> None:
    result = _run(installed, "--version")
    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout


@pytest.mark.parametrize("command", ["serve", "worker", "scheduler", "db"])
def test_the_images_commands_exist(installed: Path, command: str) -> None:
    result = _run(installed, command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout


def test_the_clean_install_is_not_the_development_tree(installed: Path) -> None:
    python = installed / "python"
    out = subprocess.run(
        [str(python), "-c", "import lark_service, sys; print(lark_service.__file__)"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd="/",
    )
    assert out.stdout.startswith(str(installed.parent))


def test_the_healthcheck_command_works_against_a_running_server(installed: Path) -> None:
    """serve starts from the clean install and answers the HEALTHCHECK's /healthz."""
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = installed.parent / "home"
    home.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [str(installed / "lark-service"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"PATH": f"{installed}:/usr/bin:/bin", "HOME": str(home), "LARK_HOME": str(home)},
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    status = r.status
                    break
            except OSError:
                time.sleep(0.2)  # polling a starting process, not timing a test
        assert status == 200, f"no /healthz answer (exit code {proc.poll()})"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert b"lark_build_info" in r.read()
    finally:
        proc.terminate()  # SIGTERM: the graceful path the container uses
        # uvicorn shuts down gracefully, then re-raises the signal it caught
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
