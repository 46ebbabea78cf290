"""GET /status: content, access rules, escaping, and a headless Chromium rendering it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lark_service import LarkClient, errors, instrumentation
from lark_service.server.status import StatusRing, add_status_route, allowed, chart, render
from lark_service.testing import Emulator

from ..callbacks._support import ServerThread

APP = ("cli_status", "status-secret")


@pytest.fixture
def ring() -> Iterator[StatusRing]:
    ring = StatusRing()
    instrumentation.subscribe(ring)  # as add_status_route does, before the activity
    yield ring
    instrumentation.unsubscribe(ring)


@pytest.fixture
def world(lark_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An app with a token, an outbox with pending and dead rows, a failed call, job runs."""
    from sqlalchemy import insert

    from lark_service.apps import AppRegistry
    from lark_service.callbacks.store import OutboxStore
    from lark_service.config import get_settings
    from lark_service.storage.crypto import generate_key
    from lark_service.storage.tables import callback_outbox

    monkeypatch.setenv("LARK_CONFIG_ENCRYPTION_KEY", generate_key())
    lark_emulator.add_app(*APP)
    settings = get_settings()
    AppRegistry.from_settings(settings).add_app(*APP, domain=lark_emulator.url)
    store = OutboxStore(settings.resolved_database_url)
    now = lark_emulator.now()
    with store.engine.begin() as conn:
        for status, age in (("pending", 900), ("pending", 30), ("dead", 50), ("done", 10)):
            conn.execute(
                insert(callback_outbox).values(
                    app_id=APP[0],
                    kind="event",
                    payload="{}",
                    status=status,
                    available_at=now - age,
                    created_at=now - age,
                    updated_at=now - age,
                )
            )
    return {"settings": settings, "store": store, "emulator": lark_emulator}


def _activity(emu: Emulator) -> None:
    """A token fetch, two good calls and one failing with a Feishu code; two job runs."""
    from lark_service.scheduler import Job, LocalElection, Schedule, Scheduler

    emu.add_user("zoe", name="Zoe")
    zoe = emu.open_id("zoe", APP[0])
    with LarkClient(APP[0]) as client:
        client.messaging.send_text_message(zoe, "one")
        client.messaging.send_text_message(zoe, "two")
        emu.inject_fault("/open-apis/im/v1/messages", "code", code=230002, msg="bot not in chat")
        with pytest.raises(errors.APIError):
            client.messaging.send_text_message(zoe, "three")

    def boom(ctx: Any) -> Any:
        raise RuntimeError("down")

    scheduler = Scheduler(
        [
            Job("token_sweep", lambda ctx: {}, Schedule(interval=300)),
            Job("cleanup", boom, Schedule(interval=3600)),
        ],
        context=lambda job, occ: None,  # type: ignore[arg-type,return-value]
        election=LocalElection(),
    )
    scheduler.run_job("token_sweep")
    scheduler.run_job("cleanup")
    scheduler.shutdown()


def _app(world: dict[str, Any], ring: StatusRing, **kw: Any) -> Any:
    from fastapi import FastAPI

    app = FastAPI()
    add_status_route(app, outbox=lambda: world["store"], ring=ring, **kw)
    return app


def test_the_page_shows_apps_outbox_errors_and_jobs(
    world: dict[str, Any], ring: StatusRing
) -> None:
    _activity(world["emulator"])
    with ServerThread(_app(world, ring)) as url:
        response = httpx.get(url + "/status")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert APP[0] in page
    assert "in 2.0 h" in page or "in 1.9 h" in page  # the tenant token's expiry
    assert "<table id=outbox><tr><th>outbox depth</th>" in page
    assert "<td>2</td>" in page  # two pending
    assert "15.0 min old" in page  # the oldest pending, 900 s
    assert '<td class="bad">1</td>' in page  # one dead-lettered
    assert "230002" in page  # error by Feishu code
    import re

    rate = re.search(r"<p id=rate>(.*?)</p>", page)
    assert rate is not None and "error rate" in rate.group(1), page
    # the token fetch, two sends and the failed one
    assert rate.group(1).startswith("4 requests") and "25.0%" in rate.group(1)
    assert page.count("<svg") == 3 and "<script" not in page
    assert "token_sweep" in page and "cleanup" in page
    assert '<td class="bad">failed</td>' in page


def test_access_is_loopback_only_without_a_token(world: dict[str, Any], ring: StatusRing) -> None:
    import asyncio

    app = _app(world, ring)

    async def get(host: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://status") as client:
            return await client.get("/status")

    refused = asyncio.run(get("10.0.0.7"))
    assert refused.status_code == 403 and "LARK_STATUS_TOKEN" in refused.text
    assert asyncio.run(get("127.0.0.1")).status_code == 200
    assert allowed("127.0.0.1", None, None) and allowed("::1", None, None)
    assert not allowed("10.0.0.7", None, None)
    assert allowed("10.0.0.7", "Bearer t", "t") and not allowed("127.0.0.1", None, "t")


def test_a_status_token_is_required_from_everyone(
    world: dict[str, Any], ring: StatusRing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARK_STATUS_TOKEN", "s3cret-token")
    with ServerThread(_app(world, ring)) as url:
        assert httpx.get(url + "/status").status_code == 401  # loopback too
        wrong = httpx.get(url + "/status", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = httpx.get(url + "/status", headers={"Authorization": "Bearer s3cret-token"})
    assert right.status_code == 200 and "lark-service status" in right.text


def test_values_are_escaped_and_charts_are_plain_svg() -> None:
    data = {
        "now": 1_700_000_000.0,
        "problems": [],
        "apps": [
            {
                "app_id": "<script>x</script>",
                "tenant": None,
                "app": None,
                "users": 0,
                "user_refresh": None,
            }
        ],
        "outbox": None,
        "minutes": [],
        "requests": 0,
        "errors": {"<b>1</b>": 1},
        "error_rate": 0.0,
        "jobs": [],
    }
    page = render(data)
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;" in page
    svg = chart([0, 3, 6], label="requests", colour="#000")
    assert svg.startswith("<svg") and svg.count("<rect") == 3 and "max 6/min" in svg


def test_create_app_mounts_the_status_page(tmp_path: Path) -> None:
    from lark_service.server import create_app

    app = create_app(database_url=f"sqlite:///{tmp_path / 's.db'}")
    with ServerThread(app) as url:
        page = httpx.get(url + "/status")
    assert page.status_code == 200
    assert "Callbacks" in page.text and "outbox depth" in page.text


def _chromium() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    return None


def test_headless_chromium_renders_the_page(
    world: dict[str, Any], ring: StatusRing, tmp_path: Path
) -> None:
    found = _chromium()
    if found is None:
        reason = "chromium and chromium-driver are not installed (apt-get install chromium "
        "chromium-driver)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; CI=true: the browser test must run")
        pytest.skip(reason)
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    _activity(world["emulator"])
    options = Options()
    options.binary_location = found[0]
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1280,1600",
    ):
        options.add_argument(argument)
    with ServerThread(_app(world, ring)) as url:
        driver = webdriver.Chrome(service=Service(found[1]), options=options)
        try:
            driver.get(url + "/status")
            assert driver.title == "lark-service status"
            assert driver.find_element(By.TAG_NAME, "h1").text == "lark-service status"
            apps = driver.find_element(By.ID, "apps").text
            assert APP[0] in apps
            jobs = driver.find_element(By.ID, "jobs").text
            assert "token_sweep" in jobs and "failed" in jobs
            assert "230002" in driver.find_element(By.ID, "errors").text
            charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")
            assert len(charts) == 3
            assert all(c.size["width"] > 100 and c.size["height"] > 20 for c in charts)
            assert driver.execute_script("return document.scripts.length") == 0
            shot = tmp_path / "status.png"
            assert driver.save_screenshot(str(shot))
        finally:
            driver.quit()
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000
