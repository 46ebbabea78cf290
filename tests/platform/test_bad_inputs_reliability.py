"""Inputs that still escaped as untyped errors (or were sent) in the reliability run
(docs/reliability.md): each is now a ValidationError before any request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lark_service import LarkClient, errors
from lark_service.testing import Emulator

from .conftest import APP_A

LONG = "x" * 100_000

CASES: list[Any] = [
    pytest.param(lambda c: c.drive.upload_file(LONG), id="drive-upload-100k-path"),
    pytest.param(lambda c: c.drive.download_file("boxcnX", LONG), id="drive-download-100k-path"),
    pytest.param(lambda c: c.drive.create_folder("\ud800"), id="drive-folder-lone-surrogate"),
    pytest.param(
        lambda c: c.request("POST", "/open-apis/im/v1/chats", files="x"), id="request-files-str"
    ),
    pytest.param(lambda c: c.request("POST", "/open-apis/x", data="x"), id="request-data-str"),
    pytest.param(lambda c: c.request("GET", "/open-apis/x", params="x"), id="request-params-str"),
    pytest.param(lambda c: c.messaging.send_batch(None, "hi"), id="send-batch-none"),
    pytest.param(
        lambda c: c.with_options(headers={"a\n": "x"}).request("GET", "/open-apis/x"),
        id="header-name-newline",
    ),
    pytest.param(
        lambda c: c.with_options(headers={"a": "x\r\nb: y"}).request("GET", "/open-apis/x"),
        id="header-value-crlf",
    ),
    pytest.param(lambda c: LarkClient(APP_A[0], APP_A[1], transport="x"), id="ctor-transport"),
    pytest.param(lambda c: LarkClient(APP_A[0], APP_A[1], clock="x"), id="ctor-clock"),
    pytest.param(lambda c: LarkClient(APP_A[0], APP_A[1], token_store="x"), id="ctor-store"),
    pytest.param(lambda c: LarkClient(app_id="..", app_secret="s"), id="ctor-app-id-dotdot"),
    pytest.param(lambda c: LarkClient(app_id="a/b", app_secret="s"), id="ctor-app-id-slash"),
    pytest.param(lambda c: LarkClient(app_id=APP_A[0], app_secret=LONG), id="ctor-long-secret"),
]


@pytest.mark.parametrize("call", CASES)
def test_is_a_validation_error_before_any_request(
    emu: Emulator, client: LarkClient, call: Callable[[LarkClient], Any]
) -> None:
    before = len(emu.requests())
    with pytest.raises(errors.ValidationError):
        call(client)
    assert len(emu.requests()) == before
