"""``client.chats``: find by name, get, list, members, and their errors (SQLite and PostgreSQL
state databases, through the ``client`` fixture)."""

from __future__ import annotations

import pytest

from lark_service import LarkClient
from lark_service.chats import AmbiguousChatNameError, Chat, pick_by_name
from lark_service.errors import NotFoundError, PermissionDeniedError, ValidationError
from lark_service.testing import Emulator

from .conftest import APP


def test_get_chat_has_name_owner_member_count_description(
    emu: Emulator, client: LarkClient
) -> None:
    chat = client.chats.get_chat("oc_demo")
    assert chat.chat_id == "oc_demo"
    assert chat.name == "Ops Alerts"
    assert chat.description == "alerts"
    assert chat.owner_id == emu.open_id("alice", APP[0]) and chat.owner_id_type == "open_id"
    assert chat.member_count == 2 and chat.user_count == 2
    assert chat.bot_count == len(emu.state.apps())  # every app's bot is in it
    assert chat.request_id and chat.log_id
    assert chat.model_dump()["member_count"] == 2


def test_exact_name_is_preferred_over_partial_matches(emu: Emulator, client: LarkClient) -> None:
    assert client.chats.get_chat_by_name("Ops").chat_id == "oc_ops"  # not "Ops Alerts"
    assert client.chats.get_chat_by_name("ops alerts").chat_id == "oc_demo"
    assert client.chats.get_chat_by_name("Alerts").chat_id == "oc_demo"  # one partial match


def test_ambiguous_chat_name_lists_the_candidates(emu: Emulator, client: LarkClient) -> None:
    emu.add_chat("oc_ops2", "Ops", members=["carol"])
    with pytest.raises(AmbiguousChatNameError) as info:
        client.chats.get_chat_by_name("Ops")
    error = info.value
    assert isinstance(error, ValidationError)
    assert sorted(c.chat_id for c in error.candidates) == ["oc_ops", "oc_ops2"]
    assert "oc_ops " in str(error) and "oc_ops2" in str(error) and "2 chats" in str(error)
    assert "chat_id" in (error.hint or "")

    emu.add_chat("oc_x1", "Release Train East")
    emu.add_chat("oc_x2", "Release Train West")
    with pytest.raises(AmbiguousChatNameError) as partial:
        client.chats.get_chat_by_name("Release")
    assert "containing" in str(partial.value)
    assert {c.chat_id for c in partial.value.candidates} == {"oc_x1", "oc_x2"}


def test_unknown_or_dissolved_chat_is_not_found(emu: Emulator, client: LarkClient) -> None:
    with pytest.raises(NotFoundError) as unknown:
        client.chats.get_chat("oc_nope")
    assert "oc_nope" in str(unknown.value) and unknown.value.code == 232006
    with pytest.raises(NotFoundError):
        client.chats.get_chat_by_name("No Such Chat")

    emu.dissolve_chat("oc_ops")
    with pytest.raises(NotFoundError) as dissolved:
        client.chats.get_chat("oc_ops")
    assert "dissolved" in str(dissolved.value)
    with pytest.raises(NotFoundError):
        client.chats.get_chat_members("oc_ops")
    # the dissolved "Ops" no longer hides behind the partial match
    assert client.chats.get_chat_by_name("Ops").chat_id == "oc_demo"
    assert [c.chat_id for c in client.chats.list_chats()] == ["oc_demo"]


def test_list_chats_pages_through_everything(emu: Emulator, client: LarkClient) -> None:
    for i in range(130):
        emu.add_chat(f"oc_many{i:03d}", f"Many {i:03d}")
    emu.add_chat("oc_other", "Not mine", bot_app_ids=["cli_someone_else"])
    chats = client.chats.list_chats().to_list()
    assert len(chats) == 132
    assert "oc_other" not in {c.chat_id for c in chats}
    assert len(emu.requests(path="/open-apis/im/v1/chats")) == 2
    assert len(client.chats.search_chats("many 12").to_list()) == 10


def test_members_and_bot_outside_the_chat(emu: Emulator, client: LarkClient) -> None:
    members = client.chats.get_chat_members("oc_demo")
    assert [m.name for m in members] == ["Alice", "Bob"]
    assert members[0].member_id == emu.open_id("alice", APP[0])
    by_user_id = client.chats.get_chat_members("oc_demo", member_id_type="user_id")
    assert [m.member_id for m in by_user_id] == ["alice", "bob"]
    with pytest.raises(ValidationError):
        client.chats.get_chat_members("oc_demo", member_id_type="email")

    emu.add_chat("oc_private", "Private", members=["alice"], bot_app_ids=["cli_someone_else"])
    with pytest.raises(PermissionDeniedError) as info:
        client.chats.get_chat("oc_private")
    assert "not a member of chat oc_private" in str(info.value)
    assert "Add the app's bot" in (info.value.hint or "")


def test_missing_chat_scope_names_it(emu: Emulator, client: LarkClient) -> None:
    emu.deny_scopes(APP[0], "im:chat:readonly", "im:chat")
    with pytest.raises(PermissionDeniedError) as info:
        client.chats.list_chats().to_list()
    assert info.value.missing_scopes == ["im:chat:readonly", "im:chat"]
    assert "im:chat:readonly" in str(info.value)


def test_pick_by_name_rules() -> None:
    chats = [Chat(chat_id="oc_1", name="Ops"), Chat(chat_id="oc_2", name="Ops Alerts")]
    assert pick_by_name("Ops", chats).chat_id == "oc_1"  # type: ignore[union-attr]
    assert pick_by_name("alerts", chats).chat_id == "oc_2"  # type: ignore[union-attr]
    assert pick_by_name("Payroll", chats) is None
    with pytest.raises(AmbiguousChatNameError):
        pick_by_name("op", chats)
