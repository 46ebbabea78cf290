"""Importing lark_service stays light: no storage, server, queue, SDK or rich on import.

A behaviour guard, not a timing test: each statement runs in a fresh interpreter and the
heavy packages must be absent from ``sys.modules`` afterwards (they load on first use).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "uvicorn",
    "aio_pika",
    "psycopg",
    "lark_oapi",
    "rich",
    "click",
)

_PROBE = """
import json, sys
{statement}
print(json.dumps(sorted(
    name for name in sys.modules if name.split(".")[0] in {heavy!r}
)))
"""


def _loaded_after(statement: str) -> list[str]:
    code = _PROBE.format(statement=statement, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


STATEMENTS = [
    "import lark_service",
    "from lark_service import LarkClient",
    "from lark_service import AsyncLarkClient",
]


@pytest.mark.parametrize("statement", STATEMENTS)
def test_import_does_not_load_heavy_packages(statement: str) -> None:
    top_level = {name.split(".")[0] for name in _loaded_after(statement)}
    assert top_level == set()


def test_httpx_keeps_working_after_our_import() -> None:
    # lark_service imports httpx without its CLI module (click, rich, pygments); httpx itself
    # and an explicit import of its CLI must still work afterwards.
    loaded = _loaded_after(
        "from lark_service import LarkClient; import httpx; httpx.Client().close(); "
        "import httpx._main"
    )
    assert "rich" in loaded  # httpx._main imported for real when asked for


def test_the_probe_sees_a_heavy_import() -> None:
    # the guard above can fail: importing one of them directly is seen
    assert "sqlalchemy" in _loaded_after("import sqlalchemy")
