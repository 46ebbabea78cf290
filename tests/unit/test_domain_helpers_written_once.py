"""Issue 9 point 2: pure helpers are written once, not repeated inside the generated twins.

Every ``_async_*.py`` of a domain is copied into a ``_sync_*.py`` twin by scripts/unasync.py,
so a module-level ``def`` (or a class other than the async client itself) there is written
twice. Pure helpers live in the domain's plain modules (``_helpers.py``, ``ranges.py``, …);
an async source keeps only its ``Async*`` classes and coroutine functions that do I/O.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "lark_service"
DOMAINS = ("sheets", "drive", "bitable", "auth", "apaas", "docs", "contact")


def _sources() -> list[Path]:
    return [path for domain in DOMAINS for path in sorted((SRC / domain).glob("_async_*.py"))]


@pytest.mark.parametrize("source", _sources(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_async_sources_define_no_pure_module_helpers(source: Path) -> None:
    tree = ast.parse(source.read_text(encoding="utf-8"))
    plain = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    classes = [
        n.name for n in tree.body if isinstance(n, ast.ClassDef) and not n.name.startswith("Async")
    ]
    assert plain == [], f"{source.name} defines pure functions {plain}: move them to a plain module"
    assert classes == [], f"{source.name} defines classes {classes} that the twin would repeat"


def test_every_domain_has_an_async_source() -> None:
    assert {p.parent.name for p in _sources()} == set(DOMAINS)


def test_moved_names_are_still_importable_from_their_old_modules() -> None:
    from lark_service.auth import DEVICE_CARD_VALUE, REVOKED_EVENT, auth_card, device_card
    from lark_service.auth._async_tokens import DEVICE_MARK, device_secret, session_store, user_key
    from lark_service.bitable._async_client import BATCH_SIZE, PAGE_SIZE, RecordProgress
    from lark_service.docs import ProgressCallback
    from lark_service.drive._sync_client import BATCH_GRANT_LIMIT, MAX_UPLOAD_BYTES, Progress
    from lark_service.sheets._async_client import Progress as SheetsProgress

    assert (DEVICE_CARD_VALUE, REVOKED_EVENT, DEVICE_MARK) == (
        "auth_device",
        "auth.user_access_token.revoked_v4",
        "urn:lark-service:device-card",
    )
    assert callable(auth_card) and callable(device_card) and callable(device_secret)
    assert callable(session_store) and callable(user_key)
    assert BATCH_SIZE == PAGE_SIZE == 500 and BATCH_GRANT_LIMIT == 10 and MAX_UPLOAD_BYTES > 0
    assert RecordProgress and ProgressCallback and Progress and SheetsProgress
