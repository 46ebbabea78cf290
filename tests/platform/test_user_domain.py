"""A user's own domain (issue 9, "Done means"): the Calendar module of docs/development.md,
run as written, registered through the public registry, gets options, paging, typed errors,
retries and instrumentation like the built-in domains."""

from __future__ import annotations

import functools
import importlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

import lark_service
from lark_service import AsyncLarkClient, LarkClient, RetryPolicy, domains, errors
from lark_service.instrumentation import EventRecorder

from ..unit._mock import TOKEN_PATH, ScriptedFeishu, feishu_error
from .conftest import APP_A

DOC = Path(__file__).resolve().parents[2] / "docs" / "development.md"
CALENDARS = "/open-apis/calendar/v4/calendars"
CAL_ID = "feishu.cn_xxx@group.calendar.feishu.cn"
NO_WAIT = RetryPolicy(max_retries=3, base_delay=0.0, max_delay=0.0, jitter=0.0)


def doc_blocks() -> list[str]:
    """The python blocks of the section 'A domain of your own'."""
    section = DOC.read_text(encoding="utf-8").split("## A domain of your own", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"^```python\n(.*?)^```", section, re.M | re.S)


@pytest.fixture
def calendar_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The docs' ``calendar_domain.py``, imported as a user's module; the registry is put
    back as it was afterwards."""
    definition = doc_blocks()[0]
    (tmp_path / "calendar_domain.py").write_text(definition, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = dict(domains.registered_domains())
    codes_before = dict(errors.CODE_TABLES)
    sys.modules.pop("calendar_domain", None)
    try:
        yield importlib.import_module("calendar_domain")
    finally:
        sys.modules.pop("calendar_domain", None)
        registry = domains._domains
        registry.clear()
        registry.update(before)
        errors.CODE_TABLES.clear()
        errors.CODE_TABLES.update(codes_before)


def calendar(calendar_id: str, summary: str = "Team") -> dict[str, Any]:
    return {"calendar_id": calendar_id, "summary": summary, "type": "shared", "role": "owner"}


class CalendarFeishu(ScriptedFeishu):
    """The scripted Feishu with calendar/v4: ``total`` calendars, pages as Feishu gives them."""

    def __init__(self, total: int = 2500) -> None:
        super().__init__()
        self.total = total

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == CALENDARS and not self.queues.get(path):
            self.requests.append(request)
            size = int(request.url.params["page_size"])
            start = int(request.url.params.get("page_token") or 0)
            end = min(start + size, self.total)
            data = {
                "calendar_list": [calendar(f"cal_{n:05d}") for n in range(start, end)],
                "has_more": end < self.total,
                "page_token": str(end) if end < self.total else "",
            }
            return httpx.Response(200, json={"code": 0, "msg": "success", "data": data})
        if path.startswith(CALENDARS + "/") and not self.queues.get(path):
            self.requests.append(request)
            value = path.rsplit("/", 1)[1]
            return httpx.Response(200, json={"code": 0, "msg": "success", "data": calendar(value)})
        return super().handler(request)


@pytest.fixture
def feishu() -> CalendarFeishu:
    return CalendarFeishu()


@pytest.fixture
def lark(feishu: CalendarFeishu, calendar_module: ModuleType) -> Iterator[LarkClient]:
    with LarkClient(
        APP_A[0], APP_A[1], base_url="https://feishu.test", transport=feishu.transport()
    ) as client:
        yield client


def test_the_docs_have_the_definition_and_the_usage_blocks() -> None:
    definition, usage, pacing = doc_blocks()
    assert "register_domain(" in definition
    assert "class Calendars(Resource)" in definition
    assert "class AsyncCalendars(AsyncResource)" in definition
    assert "client.calendar" in usage
    assert "with_family(" in pacing


def test_the_registered_domain_is_client_calendar(
    lark: LarkClient, calendar_module: ModuleType, feishu: CalendarFeishu
) -> None:
    assert "calendar" in domains.registered_domains()
    assert isinstance(lark.calendar, calendar_module.Calendars)
    got = lark.calendar.get_calendar(CAL_ID)
    assert isinstance(got, calendar_module.Calendar)
    assert got.calendar_id == CAL_ID
    assert got.summary == "Team"
    assert got.request_id
    (call,) = feishu.calls(CALENDARS + "/" + CAL_ID)
    assert call.headers["Authorization"].startswith("Bearer t-")


def test_the_usage_block_runs_as_written(
    feishu: CalendarFeishu, calendar_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, usage, _ = doc_blocks()
    make = functools.partial(
        LarkClient, base_url="https://feishu.test", transport=feishu.transport()
    )

    def client_factory(app_id: str | None = None, app_secret: str | None = None) -> LarkClient:
        return make(app_id or APP_A[0], app_secret or APP_A[1])

    monkeypatch.setattr(lark_service, "LarkClient", client_factory)
    # the other app the example names, in the app registry
    from lark_service.apps import AppRegistry
    from lark_service.config import get_settings
    from lark_service.storage.crypto import generate_key

    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", generate_key())
    AppRegistry.from_settings(get_settings()).add_app(
        "cli_b2", "secret-b2", domain="https://feishu.test"
    )
    namespace: dict[str, Any] = {"__name__": "usage"}
    exec(compile(usage, str(DOC), "exec"), namespace)

    assert len(namespace["first_two"]) == 2
    assert len(namespace["other_app"]) == 2500
    apps = [json.loads(r.read())["app_id"] for r in feishu.calls(TOKEN_PATH)]
    assert apps == [APP_A[0], "cli_b2"]


def test_a_calendar_list_is_a_lazy_pager_at_the_endpoint_maximum(
    lark: LarkClient, feishu: CalendarFeishu
) -> None:
    pager = lark.calendar.list_calendars()
    assert isinstance(pager, lark_service.Pager)
    assert feishu.calls(CALENDARS) == []

    assert [c.calendar_id for c in pager.first(3)] == ["cal_00000", "cal_00001", "cal_00002"]
    assert len(feishu.calls(CALENDARS)) == 1

    assert [len(page) for page in pager.pages()] == [1000, 1000, 500]
    calls = feishu.calls(CALENDARS)[1:]
    assert [c.url.params["page_size"] for c in calls] == ["1000"] * 3
    assert [c.url.params.get("page_token") for c in calls] == [None, "1000", "2000"]


def test_with_options_app_id_and_per_call_app_id(
    feishu: CalendarFeishu, calendar_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lark_service.apps import AppRegistry
    from lark_service.config import get_settings
    from lark_service.storage.crypto import generate_key

    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", generate_key())
    AppRegistry.from_settings(get_settings()).add_app(
        "cli_cal_b", "secret-b", domain="https://feishu.test"
    )
    with LarkClient(
        APP_A[0], APP_A[1], base_url="https://feishu.test", transport=feishu.transport()
    ) as client:
        as_b = client.with_options(app_id="cli_cal_b", headers={"X-Team": "cal"})
        as_b.calendar.get_calendar("cal_b")
        as_b.calendar.get_calendar("cal_a", app_id=APP_A[0])

    tokens = {json.loads(r.content)["app_id"]: r for r in feishu.calls(TOKEN_PATH)}
    assert set(tokens) == {"cli_cal_b", APP_A[0]}
    (b_call,) = feishu.calls(CALENDARS + "/cal_b")
    (a_call,) = feishu.calls(CALENDARS + "/cal_a")
    assert b_call.headers["X-Team"] == a_call.headers["X-Team"] == "cal"
    assert b_call.headers["Authorization"] != a_call.headers["Authorization"]


def test_as_user_reaches_the_user_domain(lark: LarkClient, feishu: CalendarFeishu) -> None:
    with pytest.raises(errors.UserTokenMissingError, match="no user token stored for ou_x"):
        lark.as_user("ou_x").calendar.get_calendar(CAL_ID)
    assert feishu.calls(CALENDARS + "/" + CAL_ID) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (99991672, errors.PermissionDeniedError),  # the generic table
        (191002, errors.PermissionDeniedError),  # the domain's own codes
        (191003, errors.NotFoundError),
        (1234567, errors.APIError),  # a code nobody knows: still an APIError, with the code
    ],
)
def test_typed_errors_from_the_generic_and_the_domain_tables(
    lark: LarkClient, feishu: CalendarFeishu, code: int, expected: type[errors.APIError]
) -> None:
    feishu.push(CALENDARS + "/" + CAL_ID, feishu_error(code))
    with pytest.raises(expected) as info:
        lark.calendar.get_calendar(CAL_ID)
    assert info.value.code == code


def test_a_calendar_code_does_not_leak_into_other_families(lark: LarkClient) -> None:
    assert errors.rule_for(191003, "calendar") is not None
    assert errors.rule_for(191003, "im") is None


def test_bad_ids_are_refused_before_any_request(lark: LarkClient, feishu: CalendarFeishu) -> None:
    for bad in ("..", ".", "a/b", "\ud800", "", "x" * 10_000):
        with pytest.raises(errors.ValidationError):
            lark.calendar.get_calendar(bad)
    assert feishu.requests == []


def test_retries_and_instrumentation(lark: LarkClient, feishu: CalendarFeishu) -> None:
    feishu.push(CALENDARS + "/" + CAL_ID, feishu_error(1500, 500, "internal error"))
    with EventRecorder(prefix="request.") as events:
        got = lark.with_options(retry=NO_WAIT).calendar.get_calendar(CAL_ID)
    assert got.calendar_id == CAL_ID
    mine = [e for e in events.events if e.get("family") == "calendar"]
    assert [e.name for e in mine] == [
        "request.started",
        "request.finished",
        "request.retried",
        "request.started",
        "request.finished",
    ]
    assert [e["outcome"] for e in mine if e.name == "request.finished"] == ["ServerError", "ok"]


def test_registering_a_taken_or_reserved_name_is_refused(calendar_module: ModuleType) -> None:
    with pytest.raises(errors.ValidationError):
        lark_service.register_domain(
            "calendar", sync_client=object, async_client=object, summary="other"
        )
    for name in ("request", "with_options", "_private", "not an identifier"):
        with pytest.raises(errors.ValidationError):
            lark_service.register_domain(name, sync_client=object, async_client=object)


@pytest.mark.anyio
async def test_the_async_client_gets_the_async_resource(
    feishu: CalendarFeishu, calendar_module: ModuleType
) -> None:
    async with AsyncLarkClient(
        APP_A[0], APP_A[1], base_url="https://feishu.test", transport=feishu.async_transport()
    ) as client:
        assert isinstance(client.calendar, calendar_module.AsyncCalendars)
        got = await client.calendar.get_calendar(CAL_ID)
        assert got.calendar_id == CAL_ID
        pager = client.calendar.list_calendars()
        assert isinstance(pager, lark_service.AsyncPager)
        assert len(await pager.first(1001)) == 1001
        assert len(await pager) == 2500
        assert len(feishu.calls(CALENDARS)) == 2 + 3


def test_the_pacing_block_runs_as_written() -> None:
    namespace: dict[str, Any] = {"__name__": "pacing"}
    exec(compile(doc_blocks()[2], str(DOC), "exec"), namespace)
    limits = namespace["pacing"].limits("calendar.read")
    assert limits.per_second == 50
    namespace["client"].close()


def test_the_user_domain_is_paced_by_its_own_family(
    feishu: CalendarFeishu, calendar_module: ModuleType, sleeps: list[float]
) -> None:
    from lark_service import Limits, PacingTable

    table = PacingTable.default().with_family(
        "calendar.read",
        Limits(per_second=50),
        routes=[("GET", "/open-apis/calendar/v4/calendars/{calendar_id}")],
    )
    with (
        LarkClient(
            APP_A[0],
            APP_A[1],
            base_url="https://feishu.test",
            transport=feishu.transport(),
            pacing=table,
        ) as client,
        EventRecorder(prefix="pacing.") as events,
    ):
        for n in range(5):
            client.calendar.get_calendar(f"cal_{n}")
    waited = events.named("pacing.waited")
    assert waited, "five calls at once to a 50/s family were not spread"
    assert {e["family"] for e in waited} == {"calendar.read"}
    assert all(0 < s <= 0.1 for s in sleeps)
    assert len(feishu.calls(CALENDARS + "/cal_4")) == 1
