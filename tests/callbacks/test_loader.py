"""``--handlers module:router`` from a project folder imports the project's own package, as
uvicorn does (the working directory on the import path)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lark_service.callbacks import CallbackRouter
from lark_service.callbacks.loader import load_router

SOURCE = """
from lark_service.callbacks import CallbackRouter

router = CallbackRouter()
router.event("im.message.receive_v1")(lambda e: None)
"""


def _project(root: Path, package: str) -> Path:
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "callbacks.py").write_text(SOURCE)
    return root


def test_a_package_in_the_working_directory_is_importable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _project(tmp_path / "proj", "myapp_loader_pkg")
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(project))])
    monkeypatch.delitem(sys.modules, "myapp_loader_pkg", raising=False)
    monkeypatch.delitem(sys.modules, "myapp_loader_pkg.callbacks", raising=False)
    router = load_router("myapp_loader_pkg.callbacks:router")
    assert isinstance(router, CallbackRouter) and len(router) == 1


def test_serve_from_a_project_folder_finds_the_handlers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from lark_service.cli import cli

    project = _project(tmp_path / "proj2", "myapp_serve_pkg")
    monkeypatch.chdir(project)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(project))])
    monkeypatch.delitem(sys.modules, "myapp_serve_pkg", raising=False)
    monkeypatch.delitem(sys.modules, "myapp_serve_pkg.callbacks", raising=False)
    ran: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(app))
    result = CliRunner().invoke(cli, ["serve", "--handlers", "myapp_serve_pkg.callbacks:router"])
    assert result.exit_code == 0, result.output
    assert "(1 routes)" in result.output and len(ran) == 1
