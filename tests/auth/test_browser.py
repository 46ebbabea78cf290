"""A real browser: headless Chromium opens the authorization link of a sent card, approves
on the emulator's consent page, lands on our /oauth/callback success page; then an aPaaS
endpoint answers as that user.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium
chromium-driver``) and ``selenium`` (the dev extra). Skipped when they are missing, a
failure under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from lark_service import LarkClient
from lark_service.config import Settings
from lark_service.server import create_app
from lark_service.testing import Emulator
from lark_service.testing.emulator.apaas_state import apaas

from ._server import serve
from .conftest import APP_ID, SECRET

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def _require_browser() -> None:
    missing = []
    if CHROMIUM is None:
        missing.append("chromium")
    if DRIVER is None:
        missing.append("chromium-driver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip)")
    if missing:
        text = (
            f"the browser test needs {', '.join(missing)}: "
            "apt-get install -y chromium chromium-driver"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(text)
        pytest.skip(text)


@pytest.fixture
def browser() -> Iterator[Any]:
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_authorize_in_a_real_browser_then_call_apaas_as_the_user(
    browser: Any, emu: Emulator, client: LarkClient
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    apaas(emu.state).add_workspace(
        "ws_browser",
        [{"name": "notes", "columns": [{"name": "text"}], "records": [{"text": "hello"}]}],
        required_scopes=["apaas:workspace"],
    )
    settings = Settings(app_id=APP_ID, app_secret=SECRET, base_url=emu.url)
    with serve(create_app(settings=settings, dispatcher="inprocess")) as server:
        user = emu.open_id("alice", APP_ID)
        client.auth.send_auth_card(
            user, ["apaas:workspace"], "To read your notes", redirect_uri=server + "/oauth/callback"
        )
        card = emu.messages()[-1].content
        link = card["elements"][1]["actions"][0]["url"]

        import httpx

        httpx.post(emu.url + "/_emulator/oauth/signin", json={"user_id": "alice"})
        browser.get(link)
        scopes = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#scopes li")]
        assert scopes == ["offline_access", "apaas:workspace"]
        browser.find_element(By.ID, "approve").click()
        result = WebDriverWait(browser, 30).until(ec.presence_of_element_located((By.ID, "result")))
        assert result.get_attribute("data-result") == "ok"
        assert browser.current_url.startswith(server + "/oauth/callback?")
        assert "Authorization complete" in browser.page_source

    rows = client.as_user(user).apaas.query_table_records("ws_browser", "notes").to_list()
    assert [r["text"] for r in rows] == ["hello"]
