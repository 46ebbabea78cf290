"""The directory over the thin contact resource: the 43010 fallback of the department walk,
lazy pagers for the contact lists, and ``cache.hit`` / ``cache.miss`` instrumentation.

Every test that uses ``client`` runs on SQLite and PostgreSQL (the state database).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lark_service import AsyncLarkClient, LarkClient, instrumentation
from lark_service.config import Settings
from lark_service.contact import Department
from lark_service.errors import InvalidParameterError
from lark_service.testing import Emulator

from .conftest import APP, FakeClock

CHILDREN = "/open-apis/contact/v3/departments/*/children"
ROOT_CHILDREN = "/open-apis/contact/v3/departments/0/children"
MEMBERS = "/open-apis/contact/v3/users/find_by_department"


def _children_calls(emu: Emulator) -> list[tuple[str, str]]:
    """(department, fetch_child) of every children call so far."""
    return [
        (r.path.split("/")[-2], r.query.get("fetch_child", "")) for r in emu.requests(path=CHILDREN)
    ]


def _shape(root: Department) -> list[tuple[str | None, str | None, int | None, list[str | None]]]:
    """What a tree says, without the ids of the requests that fetched it."""
    return [
        (d.department_id, d.name, d.member_count, [c.department_id for c in d.children])
        for d in root.walk()
    ]


# -- 43010: a department too big to list recursively ----------------------------------------


def test_big_department_tree_falls_back_to_a_breadth_first_walk(
    emu: Emulator, client: LarkClient
) -> None:
    expected = client.contact.get_department_tree()
    before = len(emu.requests(path=CHILDREN))
    emu.inject_fault(ROOT_CHILDREN, "code", code=43010, msg="department too large")

    tree = client.contact.get_department_tree()

    assert _shape(tree) == _shape(expected)
    assert [d.department_id for d in tree.walk()] == ["0", "eng", "be", "ops"]
    eng_open = emu.state.get_department("eng").open_department_id  # type: ignore[union-attr]
    be_open = emu.state.get_department("be").open_department_id  # type: ignore[union-attr]
    ops_open = emu.state.get_department("ops").open_department_id  # type: ignore[union-attr]
    walk = _children_calls(emu)[before:]
    # the refused recursive call, then one level per call without fetch_child
    assert walk[0] == ("0", "true")
    assert walk[1:] == [
        ("0", "false"),
        (eng_open, "false"),
        (ops_open, "false"),
        (be_open, "false"),
    ]


def test_big_department_users_fall_back_and_remember(emu: Emulator, client: LarkClient) -> None:
    for i in range(3):
        emu.add_department(f"team{i}", f"Team {i}", parent_department_id="be", order=i)
        emu.add_user(f"member{i}", email=f"member{i}@example.com", department_ids=[f"team{i}"])
    emu.inject_fault(ROOT_CHILDREN, "code", code=43010)

    users = client.contact.get_department_users("0", recursive=True)

    everyone = {"alice", "bob", "carol", "dave", "member0", "member1", "member2"}
    assert {u.user_id for u in users} == everyone
    assert all(value == "false" for _, value in _children_calls(emu)[1:])
    # the members of every department found by the walk were asked for
    assert len(emu.requests(path=MEMBERS)) == 7  # root, eng, ops, be, three teams

    # the next walk of the same department skips the refused recursive call
    calls = len(_children_calls(emu))
    again = client.contact.get_department_users("0", recursive=True)
    assert {u.user_id for u in again} == everyone
    assert all(value == "false" for _, value in _children_calls(emu)[calls:])
    # other departments still try the recursive listing first
    assert [u.user_id for u in client.contact.get_department_users("be", recursive=True)]
    assert _children_calls(emu)[-1][1] == "true"


def test_a_large_tenant_syncs_with_the_emulators_recursion_limit(
    emu: Emulator, client: LarkClient
) -> None:
    """The emulator answers 43010 like Feishu for departments with more than ``limit``
    sub-departments: the root of a seeded organisation is refused, small departments are not."""
    emu.seed_directory(users=120, departments=8, chats=0)
    expected = client.contact.get_department_tree()
    everyone = {u.user_id for u in emu.state.users()}
    emu.set_department_recursion_limit(2)
    try:
        tree = client.contact.get_department_tree()
        users = client.contact.get_department_users("0", recursive=True)
        small = client.contact.get_department_users("eng", recursive=True)  # 1 below: allowed
    finally:
        emu.set_department_recursion_limit(None)
    assert _shape(tree) == _shape(expected)
    assert {u.user_id for u in users} == everyone
    assert sorted(u.user_id or "" for u in small) == ["alice", "dave"]
    refused = emu.requests(path=CHILDREN, code=43010)
    assert [r.path.split("/")[-2] for r in refused] == ["0"]  # once: then remembered
    assert ("eng", "true") in _children_calls(emu)


def test_other_invalid_parameter_errors_are_not_swallowed(
    emu: Emulator, client: LarkClient
) -> None:
    emu.inject_fault(ROOT_CHILDREN, "code", code=40014)
    calls = len(_children_calls(emu))
    with pytest.raises(InvalidParameterError) as info:
        client.contact.get_department_tree()
    assert info.value.code == 40014
    assert len(_children_calls(emu)) == calls + 1  # no fallback walk


@pytest.mark.anyio
async def test_async_walk_falls_back_on_43010(emu: Emulator, db_url: str, clock: FakeClock) -> None:
    emu.inject_fault(ROOT_CHILDREN, "code", code=43010)
    async with AsyncLarkClient(
        app_id=APP[0],
        app_secret=APP[1],
        base_url=emu.url,
        settings=Settings(database_url=db_url),
        clock=clock,
    ) as client:
        tree = await client.contact.get_department_tree()
        members = await client.contact.get_department_users("eng", recursive=True)
    assert [d.department_id for d in tree.walk()] == ["0", "eng", "be", "ops"]
    assert sorted(u.user_id or "" for u in members) == ["alice", "dave"]
    assert ("0", "false") in _children_calls(emu)


# -- pagers ---------------------------------------------------------------------------------


def test_list_methods_are_lazy_pagers_at_the_endpoint_maximum(
    emu: Emulator, client: LarkClient
) -> None:
    emu.add_department("big", "Big")
    for i in range(120):
        emu.add_user(f"big{i:03d}", email=f"big{i:03d}@example.com", department_ids=["big"])
    client.contact.get_department("0")  # token fetched before counting
    calls = len(emu.requests())

    pager = client.contact.list_department_users("big")
    assert len(emu.requests()) == calls  # nothing fetched yet

    first = pager.first(3)
    assert [u.user_id for u in first] == ["big000", "big001", "big002"]
    [page] = emu.requests(path=MEMBERS)
    assert page.query["page_size"] == "50"  # the endpoint's maximum

    assert [len(p) for p in pager.pages()] == [50, 50, 20]
    assert len(pager.to_list()) == 120
    assert all(r.query["page_size"] == "50" for r in emu.requests(path=MEMBERS))

    children = client.contact.list_child_departments("0", fetch_child=True).to_list()
    assert [d.department_id for d in children] == ["big", "eng", "ops", "be"]
    direct = client.contact.list_child_departments("eng").to_list()
    assert [d.department_id for d in direct] == ["be"]
    assert all(r.query["page_size"] == "50" for r in emu.requests(path=CHILDREN))


# -- instrumentation ------------------------------------------------------------------------


def _lookups(events: instrumentation.EventRecorder) -> list[tuple[str, str, str]]:
    return [(e.name, e["cache"], e["field"]) for e in events.events]


def test_cache_hits_and_misses_are_emitted(emu: Emulator, client: LarkClient) -> None:
    with (
        instrumentation.EventRecorder(prefix="cache.") as everything,
        instrumentation.EventRecorder(prefix="cache.") as events,
    ):
        alice = client.contact.get_user_by_email("alice@example.com")
        assert _lookups(events) == [("cache.miss", "contact", "email")]
        events.clear()

        client.contact.get_user_by_email("alice@example.com")
        assert alice is not None
        client.contact.get_user(alice.open_id)
        client.contact.get_user_by_mobile("13800000001")
        assert _lookups(events) == [
            ("cache.hit", "contact", "email"),
            ("cache.hit", "contact", "open_id"),
            ("cache.hit", "contact", "mobile"),
        ]
        events.clear()

        client.contact.get_users_by_emails(["nobody@example.com", "bob@example.com"])
        assert sorted(_lookups(events)) == [("cache.miss", "contact", "email")] * 2
        events.clear()

        client.contact.get_users_by_emails(["nobody@example.com", "bob@example.com"])
        assert sorted(_lookups(events)) == [
            ("cache.hit", "contact", "email"),
            ("cache.hit", "contact.negative", "email"),
        ]
        events.clear()

        client.contact.get_user("carol", id_type="user_id")
        assert _lookups(events) == [("cache.miss", "contact", "user_id")]
        events.clear()

        client.contact.get_user_by_email("alice@example.com", refresh=True)
        assert events.events == []  # refresh skips the cache: neither a hit nor a miss

    assert len(everything.events) == 9
    assert all(e.app_id == APP[0] for e in everything.events)
    for event in everything.events:  # no user ids or addresses in the fields
        assert set(event.fields) == {"cache", "field"}


# -- the shape of the domain ----------------------------------------------------------------

CONTACT = Path(__file__).resolve().parents[2] / "src" / "lark_service" / "contact"


def test_the_resource_is_thin_and_helpers_are_written_once() -> None:
    resource = ast.parse((CONTACT / "_async_client.py").read_text(encoding="utf-8"))
    names = {n.id for n in ast.walk(resource) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(resource) if isinstance(n, ast.Attribute)
    }
    assert not [n for n in ast.walk(resource) if isinstance(n, ast.Try)]
    assert not names & {"logger", "logging", "get_logger", "access_token", "credentials"}
    for source in ("_async_client.py", "_async_directory.py"):
        tree = ast.parse((CONTACT / source).read_text(encoding="utf-8"))
        functions = [
            n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        assert functions == [], f"{source} defines module functions (pure helpers go once)"
