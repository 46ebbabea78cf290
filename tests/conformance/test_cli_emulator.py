"""``lark-service emulator`` (the CLI) serves what the ``lark_emulator`` fixture serves.

The CLI once ran uvicorn with its default HTTP parser, which lowercases header names: the
official SDK, looking ``X-Tt-Logid`` and ``Content-Disposition`` up case-sensitively, lost
the log id and the downloaded file's name. Both now use one server setup.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lark_service.testing.emulator.server import Emulator

from .test_im_media import PDF, upload_file

CHAT = "oc_demo"  # the CLI seeds the demo data


@pytest.fixture(scope="module")
def cli_url() -> Iterator[str]:
    """A ``lark-service emulator --port 0`` process; its URL as the CLI announced it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lark_service", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server listens (or exits)
        match = re.search(r"Feishu emulator on (http://\S+)", line)
        assert match, f"unexpected first line {line!r}"
        yield match.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def official_client(lark: Any, url: str) -> Any:
    app_id = f"cli_clitest{secrets.token_hex(4)}"  # the SDK caches tokens per app_id
    added = httpx.post(f"{url}/_emulator/apps", json={"app_id": app_id, "app_secret": "s"})
    assert added.status_code == 200, added.text
    return (
        lark.Client.builder()
        .app_id(app_id)
        .app_secret("s")
        .domain(url)
        .log_level(lark.LogLevel.ERROR)
        .build()
    )


def test_the_official_sdk_reads_the_cli_emulators_log_id(lark: Any, cli_url: str) -> None:
    from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody

    client = official_client(lark, cli_url)
    response = client.im.v1.message.create(
        CreateMessageRequest.builder()
        .receive_id_type("chat_id")
        .request_body(
            CreateMessageRequestBody.builder()
            .receive_id(CHAT)
            .msg_type("text")
            .content('{"text":"from the CLI emulator"}')
            .build()
        )
        .build()
    )
    assert response.success(), (response.code, response.msg)
    assert response.get_log_id()
    assert "X-Tt-Logid" in response.raw.headers


def test_the_official_sdk_reads_a_download_name_from_the_cli_emulator(
    lark: Any, cli_url: str
) -> None:
    from lark_oapi.api.im.v1 import GetFileRequest

    client = official_client(lark, cli_url)
    created = upload_file(client)
    assert created.success(), (created.code, created.msg)
    got = client.im.v1.file.get(GetFileRequest.builder().file_key(created.data.file_key).build())
    assert got.success() and got.file.read() == PDF
    assert got.file_name == "季度.pdf"  # from Content-Disposition


def raw_header_names(url: str) -> list[list[bytes]]:
    """Header names, as sent, of a few answers: JSON, an error, a download, control."""
    with httpx.Client(base_url=url) as http:
        app_id = f"cli_bytes{secrets.token_hex(4)}"
        http.post("/_emulator/apps", json={"app_id": app_id, "app_secret": "s"})
        token = http.post(
            "/open-apis/auth/v3/tenant_access_token/internal",
            json={"app_id": app_id, "app_secret": "s"},
        )
        auth = {"Authorization": "Bearer " + token.json()["tenant_access_token"]}
        uploaded = http.post(
            "/open-apis/im/v1/files",
            headers=auth,
            data={"file_type": "pdf", "file_name": "a.pdf"},
            files={"file": ("a.pdf", PDF, "application/pdf")},
        )
        key = uploaded.json()["data"]["file_key"]
        answers = [
            token,
            uploaded,
            http.get(f"/open-apis/im/v1/files/{key}", headers=auth),
            http.get("/open-apis/im/v1/files/file_unknown", headers=auth),
            http.get("/open-apis/no/such/path"),
            http.get("/_emulator/health"),
        ]
    return [sorted(name for name, _ in r.headers.raw if name.lower() != b"date") for r in answers]


def test_the_cli_and_the_fixture_send_the_same_header_names(
    cli_url: str, lark_emulator: Emulator
) -> None:
    from_cli = raw_header_names(cli_url)
    assert [b"X-Tt-Logid" in names for names in from_cli] == [True] * 6
    assert from_cli == raw_header_names(lark_emulator.url)
