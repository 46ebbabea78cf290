"""Reliability under bad inputs, kills, a broker bounce and slow clients (issue 10's figures).

1. **Bad inputs**: a catalogue of bad ids, texts, paths, options and constructor arguments
   against the emulator (an in-thread Feishu) for every domain client, ``client.request``,
   ``with_options`` and the constructor, plus hostile download names from a scripted Feishu.
   Each case is classed: ``ValidationError`` with no request reaching Feishu (the emulator's
   request log, the scripted transport's count), another ``LarkError``, accepted, or an
   untyped exception (a bug: each is listed).
2. **Callbacks across kills**: a real ``lark-service serve`` (in-process dispatcher, SQLite)
   and a RabbitMQ run (``serve`` + two ``lark-service worker`` processes sharing the state
   database) receive N signed card callbacks while the server (and a worker) is SIGKILLed and
   restarted, and the broker closes their AMQP connections (``rabbitmqctl close_connection``
   on this run's connections only: other users of the broker are left alone).
   The sender retries a callback until it is answered 200, as Feishu does. Each handler run
   appends the event id to a file. Leases left by killed processes are then expired by hand
   (``available_at`` set to now, as if the 150 s lease had passed) and a server drains them.
   Counted: acknowledged, handled, lost (acknowledged, never handled, not visible in the
   outbox), duplicated (handled more than once).
3. **Slow clients**: 200 slow-loris connections trickling one header line a second against
   ``serve`` with its default limits (``--header-timeout 5`` in ``--quick``), how long each
   was held; 1 MB and 64 MB headers (time to refusal, server RSS growth); ``/healthz`` latency
   meanwhile.

Local addresses only (127.0.0.1); every loop is bounded.

    python benchmarks/bench_reliability.py [--quick] [--only inputs,callbacks,slow]
        [--amqp-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import math
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
from _harness import machine_line, quick

ROOT = Path(__file__).resolve().parents[1]
APP, SECRET = "cli_reliability", "reliability-secret"
EK, VT = "reliability-encrypt-key", "reliability-verification-token"

# ---------------------------------------------------------------------------------------------
# 1. bad inputs
# ---------------------------------------------------------------------------------------------

BAD_IDS: list[tuple[str, Any]] = [
    ("empty", ""),
    ("space", " "),
    ("dot", "."),
    ("dotdot", ".."),
    ("slash", "/"),
    ("a/b", "a/b"),
    ("a/../b", "a/../b"),
    ("../x", "../x"),
    ("%2e%2e", "%2e%2e"),
    ("NUL", "\x00"),
    ("ctrl", "a\x01b"),
    ("CRLF-header", "x\r\nX-Injected: 1"),
    ("tab", "oc_\t"),
    ("surrogate", "\ud800"),
    ("surrogate-tail", "ok\udfff"),
    ("100k", "x" * 100_000),
    ("query", "?page_size=1"),
    ("fragment", "#frag"),
    ("url", "http://evil.example/"),
    ("None", None),
    ("int", 5),
    ("bytes", b"x"),
    ("list", []),
    ("dict", {}),
]

BAD_TEXTS: list[tuple[str, Any]] = [
    ("surrogate", "\ud800"),
    ("surrogate-tail", "ok\udfff"),
    ("None", None),
    ("int", 5),
    ("bytes", b"x"),
    ("list", []),
    ("dict", {}),
    ("oversize-200k", "x" * 200_000),
]

CARD = {"elements": [{"tag": "markdown", "content": "hi"}]}


def _bad_paths(tmp: Path) -> list[tuple[str, Any]]:
    return [
        ("empty", ""),
        ("missing", str(tmp / "no-such-file.png")),
        ("directory", str(tmp)),
        ("root", "/"),
        ("NUL", "a\x00b.png"),
        ("surrogate", "\ud800.png"),
        ("100k", "x" * 100_000),
        ("None", None),
        ("int", 5),
        ("list", []),
        ("dev-zero", "/dev/zero"),
    ]


def _id_targets(tmp: Path) -> list[tuple[str, Callable[[Any, Any], Any]]]:
    """(name, call(client, bad)) with ``bad`` in an id argument and good values elsewhere."""
    out = tmp / "out.bin"
    return [
        ("messaging.get_message", lambda c, v: c.messaging.get_message(v)),
        ("messaging.recall_message", lambda c, v: c.messaging.recall_message(v)),
        ("messaging.reply_message", lambda c, v: c.messaging.reply_message(v, "hi")),
        ("messaging.edit_message", lambda c, v: c.messaging.edit_message(v, "hi")),
        ("messaging.update_card", lambda c, v: c.messaging.update_card(v, CARD)),
        ("messaging.send_text_message", lambda c, v: c.messaging.send_text_message(v, "hi")),
        (
            "messaging.send_interactive_card",
            lambda c, v: c.messaging.send_interactive_card(v, CARD),
        ),
        ("messaging.download_file", lambda c, v: c.messaging.download_file(v)),
        ("messaging.download_image", lambda c, v: c.messaging.download_image(v)),
        (
            "messaging.download_message_resource(message_id)",
            lambda c, v: c.messaging.download_message_resource(v, "file_x"),
        ),
        (
            "messaging.download_message_resource(file_key)",
            lambda c, v: c.messaging.download_message_resource("om_x", v),
        ),
        ("cards.update_card_by_token", lambda c, v: c.cards.update_card_by_token(v, CARD)),
        ("chats.get_chat", lambda c, v: c.chats.get_chat(v)),
        ("chats.get_chat_members", lambda c, v: c.chats.get_chat_members(v)),
        ("contact.get_user", lambda c, v: c.contact.get_user(v)),
        ("contact.get_department", lambda c, v: c.contact.get_department(v)),
        (
            "contact.list_department_users",
            lambda c, v: list(islice(c.contact.list_department_users(v), 1)),
        ),
        ("docs.get_document", lambda c, v: c.docs.get_document(v)),
        ("docs.get_raw_content", lambda c, v: c.docs.get_raw_content(v)),
        (
            "docs.update_block(block_id)",
            lambda c, v: c.docs.update_block("doxcnReliability", v, "text"),
        ),
        (
            "drive.list_permissions",
            lambda c, v: c.drive.list_permissions(v, doc_type="docx"),
        ),
        (
            "drive.get_public_permission",
            lambda c, v: c.drive.get_public_permission(v, doc_type="docx"),
        ),
        (
            "drive.download_file(file_token)",
            lambda c, v: c.drive.download_file(v, out, overwrite=True),
        ),
        ("bitable.list_tables", lambda c, v: list(islice(c.bitable.list_tables(v), 1))),
        (
            "bitable.get_record(app_token)",
            lambda c, v: c.bitable.get_record(v, "tblX", "recX"),
        ),
        (
            "bitable.get_record(table_id)",
            lambda c, v: c.bitable.get_record("bascnX", v, "recX"),
        ),
        (
            "bitable.get_record(record_id)",
            lambda c, v: c.bitable.get_record("bascnX", "tblX", v),
        ),
        ("sheets.get_spreadsheet", lambda c, v: c.sheets.get_spreadsheet(v)),
        ("sheets.get_sheet(sheet)", lambda c, v: c.sheets.get_sheet("shtcnX", v)),
        (
            "sheets.get_sheet_data(range)",
            lambda c, v: c.sheets.get_sheet_data("shtcnX", v),
        ),
        ("request(path)", lambda c, v: c.request("GET", v)),
        ("request(method)", lambda c, v: c.request(v, "/open-apis/im/v1/chats")),
    ]


def _text_targets() -> list[tuple[str, Callable[[Any, Any], Any]]]:
    return [
        (
            "messaging.send_text_message(text)",
            lambda c, v: c.messaging.send_text_message("ou_alice", v),
        ),
        (
            "messaging.send_markdown_message(markdown)",
            lambda c, v: c.messaging.send_markdown_message("ou_alice", v),
        ),
        ("messaging.reply_message(content)", lambda c, v: c.messaging.reply_message("om_x", v)),
        (
            "messaging.send_batch(content)",
            lambda c, v: c.messaging.send_batch(["ou_alice"], v),
        ),
        ("chats.get_chat_by_name(name)", lambda c, v: c.chats.get_chat_by_name(v)),
        ("contact.get_user_by_email(email)", lambda c, v: c.contact.get_user_by_email(v)),
        ("contact.get_user_by_mobile(mobile)", lambda c, v: c.contact.get_user_by_mobile(v)),
        ("docs.create_document(title)", lambda c, v: c.docs.create_document(v)),
        ("sheets.create_spreadsheet(title)", lambda c, v: c.sheets.create_spreadsheet(v)),
        ("drive.create_folder(name)", lambda c, v: c.drive.create_folder(v)),
    ]


def _path_targets(tmp: Path) -> list[tuple[str, Callable[[Any, Any], Any]]]:
    return [
        ("messaging.upload_image(path)", lambda c, v: c.messaging.upload_image(v)),
        ("messaging.upload_file(path)", lambda c, v: c.messaging.upload_file(v)),
        (
            "messaging.send_image_message(path)",
            lambda c, v: c.messaging.send_image_message("ou_alice", v),
        ),
        (
            "messaging.send_file_message(path)",
            lambda c, v: c.messaging.send_file_message("ou_alice", v),
        ),
        ("drive.upload_file(path)", lambda c, v: c.drive.upload_file(v)),
        (
            "drive.download_file(save_path)",
            lambda c, v: c.drive.download_file("boxcnX", v),
        ),
        ("bitable.import_csv(path)", lambda c, v: c.bitable.import_csv("bascnX", "tblX", v)),
        ("bitable.export_csv(path)", lambda c, v: c.bitable.export_csv("bascnX", "tblX", v)),
    ]


def _with_options_call(c: Any, *, kw: dict[str, Any]) -> Any:
    return c.with_options(**kw).chats.get_chat("oc_reliability")


def _request_call(c: Any, *, method: str, kw: dict[str, Any]) -> Any:
    return c.request(method, "/open-apis/im/v1/chats", **kw)


def _upload(c: Any, *, value: bytes, image: bool) -> Any:
    if image:
        return c.messaging.upload_image(value)
    return c.messaging.upload_file(value, file_name="big.pdf")


def _option_cases() -> list[tuple[str, Callable[[Any], Any]]]:
    nan, inf = float("nan"), float("inf")
    cases: list[tuple[str, Callable[[Any], Any]]] = []
    with_options: list[tuple[str, dict[str, Any]]] = [
        ("timeout='5'", {"timeout": "5"}),
        ("timeout=-1", {"timeout": -1}),
        ("timeout=0", {"timeout": 0}),
        ("timeout=nan", {"timeout": nan}),
        ("timeout=inf", {"timeout": inf}),
        ("timeout=[]", {"timeout": []}),
        ("headers='x'", {"headers": "x"}),
        ("headers=[1]", {"headers": [1]}),
        ("headers={'a': 5}", {"headers": {"a": 5}}),
        ("headers={'a\\n': 'x'}", {"headers": {"a\n": "x"}}),
        ("headers={'a': 'x\\r\\nb: y'}", {"headers": {"a": "x\r\nb: y"}}),
        ("headers={'a': surrogate}", {"headers": {"a": "\ud800"}}),
        ("retry='x'", {"retry": "x"}),
        ("retry=5", {"retry": 5}),
        ("user=5", {"user": 5}),
        ("user=''", {"user": ""}),
        ("user=surrogate", {"user": "\ud800"}),
        ("app_id=5", {"app_id": 5}),
        ("app_id=''", {"app_id": ""}),
        ("app_id='..'", {"app_id": ".."}),
        ("idempotent='yes'", {"idempotent": "yes"}),
    ]
    for label, kwargs in with_options:
        cases.append(
            (
                f"with_options({label})",
                functools.partial(_with_options_call, kw=kwargs),
            )
        )
    request_cases: list[tuple[str, dict[str, Any]]] = [
        ("timeout='5'", {"timeout": "5"}),
        ("timeout=-1", {"timeout": -1}),
        ("timeout=nan", {"timeout": nan}),
        ("headers='x'", {"headers": "x"}),
        ("headers={'a': 5}", {"headers": {"a": 5}}),
        ("headers={'a': surrogate}", {"headers": {"a": "\ud800"}}),
        ("params='x'", {"params": "x"}),
        ("params={'a': surrogate}", {"params": {"a": "\ud800"}}),
        ("params={5: object()}", {"params": {5: object()}}),
        ("json=object()", {"json": object()}),
        ("json={'a': nan}", {"json": {"a": nan}}),
        ("data='x'", {"data": "x"}),
        ("files={'image': 5}", {"files": {"image": 5}}),
        ("files='x'", {"files": "x"}),
        ("token='bogus'", {"token": "bogus"}),
        ("token=5", {"token": 5}),
        ("app_id=5", {"app_id": 5}),
        ("app_id='a/b'", {"app_id": "a/b"}),
        ("retry='x'", {"retry": "x"}),
        ("binary='x'", {"binary": "x"}),
    ]
    for label, kwargs in request_cases:
        method = "POST" if "files" in kwargs or "data" in kwargs or "json" in kwargs else "GET"
        cases.append(
            (f"request({label})", functools.partial(_request_call, method=method, kw=kwargs))
        )
    for label, value, image in [
        ("image oversize 11 MB", b"\x89PNG" + b"\0" * (11 * 1024 * 1024), True),
        ("image empty bytes", b"", True),
        ("file oversize 31 MB", b"%PDF" + b"\0" * (31 * 1024 * 1024), False),
    ]:
        name = "upload_image" if image else "upload_file"
        cases.append(
            (f"messaging.{name}({label})", functools.partial(_upload, value=value, image=image))
        )
    cases += [
        ("messaging.send_batch(receive_ids=None)", lambda c: c.messaging.send_batch(None, "hi")),
        (
            "messaging.send_batch(concurrency=0)",
            lambda c: c.messaging.send_batch(["ou_alice"], "hi", concurrency=0),
        ),
        (
            "messaging.send_message(msg_type='nope')",
            lambda c: c.messaging.send_message("ou_alice", "hi", msg_type="nope"),
        ),
        (
            "messaging.send_message(receive_id_type='x')",
            lambda c: c.messaging.send_message("ou_alice", "hi", receive_id_type="x"),
        ),
        (
            "messaging.send_interactive_card(card=5)",
            lambda c: c.messaging.send_interactive_card("ou_alice", 5),
        ),
        (
            "messaging.send_interactive_card(card={'a': nan})",
            lambda c: c.messaging.send_interactive_card("ou_alice", {"a": nan}),
        ),
        ("contact.get_user(id_type='x')", lambda c: c.contact.get_user("ou_alice", id_type="x")),
        (
            "chats.get_chat_members(member_id_type='x')",
            lambda c: c.chats.get_chat_members("oc_reliability", member_id_type="x"),
        ),
        (
            "bitable.query_records(page_size=0)",
            lambda c: list(islice(c.bitable.query_records("bascnX", "tblX", page_size=0), 1)),
        ),
        (
            "bitable.query_records(page_size='x')",
            lambda c: list(islice(c.bitable.query_records("bascnX", "tblX", page_size="x"), 1)),
        ),
        ("bitable.create_record(fields=5)", lambda c: c.bitable.create_record("bascnX", "tblX", 5)),
        ("sheets.add_rows(count=-1)", lambda c: c.sheets.add_rows("shtcnX", "s1", -1)),
        ("sheets.add_rows(count='x')", lambda c: c.sheets.add_rows("shtcnX", "s1", "x")),
        (
            "sheets.update_sheet_data(values=5)",
            lambda c: c.sheets.update_sheet_data("shtcnX", "s1!A1:B2", 5),
        ),
        ("docs.delete_blocks(start=-1)", lambda c: c.docs.delete_blocks("doxcnX", "doxcnX", -1, 2)),
        (
            "drive.grant_permission(perm='x')",
            lambda c: c.drive.grant_permission("doxcnX", "ou_alice", "x", doc_type="docx"),
        ),
        (
            "drive.grant_permission(doc_type='x')",
            lambda c: c.drive.grant_permission("doxcnX", "ou_alice", doc_type="x"),
        ),
        (
            "drive.list_files(direction='x')",
            lambda c: list(islice(c.drive.list_files(direction="x"), 1)),
        ),
    ]
    return cases


def _constructor_cases(base_url: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("app_secret=5", {"app_id": "cli_x", "app_secret": 5}),
        ("app_secret=b'x'", {"app_id": "cli_x", "app_secret": b"secret"}),
        ("app_secret=['x']", {"app_id": "cli_x", "app_secret": ["secret"]}),
        ("app_secret=surrogate", {"app_id": "cli_x", "app_secret": "\ud800"}),
        ("app_secret=100k", {"app_id": "cli_x", "app_secret": "s" * 100_000}),
        ("app_secret=''", {"app_id": "cli_x", "app_secret": ""}),
        ("app_id=5", {"app_id": 5, "app_secret": "s"}),
        ("app_id=None,app_secret=5", {"app_id": None, "app_secret": 5}),
        ("app_id=''", {"app_id": "", "app_secret": "s"}),
        ("app_id='..'", {"app_id": "..", "app_secret": "s"}),
        ("app_id='a/b'", {"app_id": "a/b", "app_secret": "s"}),
        ("app_id=NUL", {"app_id": "cli\x00", "app_secret": "s"}),
        ("app_id=surrogate", {"app_id": "cli_\ud800", "app_secret": "s"}),
        ("app_id=100k", {"app_id": "c" * 100_000, "app_secret": "s"}),
        ("base_url='ftp://x'", {"app_id": APP, "app_secret": SECRET, "base_url": "ftp://x"}),
        ("base_url=5", {"app_id": APP, "app_secret": SECRET, "base_url": 5}),
        ("base_url=''", {"app_id": APP, "app_secret": SECRET, "base_url": ""}),
        ("base_url=surrogate", {"app_id": APP, "app_secret": SECRET, "base_url": "http://\ud800"}),
        ("retry='x'", {"app_id": APP, "app_secret": SECRET, "retry": "x"}),
        ("settings='x'", {"app_id": APP, "app_secret": SECRET, "settings": "x"}),
        ("http_backend=5", {"app_id": APP, "app_secret": SECRET, "http_backend": 5}),
        ("http_backend='nope'", {"app_id": APP, "app_secret": SECRET, "http_backend": "nope"}),
        ("timeout='5'", {"app_id": APP, "app_secret": SECRET, "timeout": "5"}),
        ("timeout=-1", {"app_id": APP, "app_secret": SECRET, "timeout": -1}),
        ("timeout=nan", {"app_id": APP, "app_secret": SECRET, "timeout": float("nan")}),
        ("connect_timeout='x'", {"app_id": APP, "app_secret": SECRET, "connect_timeout": "x"}),
        ("proxy=5", {"app_id": APP, "app_secret": SECRET, "proxy": 5}),
        ("proxy='nope://x'", {"app_id": APP, "app_secret": SECRET, "proxy": "nope://x"}),
        ("transport='x'", {"app_id": APP, "app_secret": SECRET, "transport": "x"}),
        ("token_store='x'", {"app_id": APP, "app_secret": SECRET, "token_store": "x"}),
        ("clock='x'", {"app_id": APP, "app_secret": SECRET, "clock": "x"}),
    ]


DOWNLOAD_HEADERS = [
    ("unknown-encoding", "attachment; filename*=no-such-charset''r%C3%A9sum%C3%A9.pdf"),
    ("traversal", 'attachment; filename="../../etc/passwd"'),
    ("traversal-star", "attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd"),
    ("absolute", "attachment; filename=/etc/shadow"),
    ("NUL", 'attachment; filename="a\x00b.txt"'),
    ("dotdot", 'attachment; filename=".."'),
    ("backslashes", 'attachment; filename="..\\\\..\\\\boot.ini"'),
    ("bad-percent", "attachment; filename*=UTF-8''%ZZ%"),
    ("latin1-bytes", "attachment; filename=\xe9t\xe9.txt"),
    ("empty", "attachment; filename="),
    ("garbage", ";;;==="),
    ("100k", "attachment; filename=" + "x" * 100_000),
]


@dataclass
class InputTally:
    typed_local: int = 0  # ValidationError, no request reached Feishu
    typed_after_request: list[str] = field(default_factory=list)  # a request went out first
    other_lark: Counter[str] = field(default_factory=Counter)  # class name -> count
    other_labels: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    untyped: list[str] = field(default_factory=list)
    total: int = 0

    @property
    def other_total(self) -> int:
        return sum(self.other_lark.values())


def _classify(
    tally: InputTally, label: str, call: Callable[[], Any], requests: Callable[[], int]
) -> None:
    from lark_service import errors

    tally.total += 1
    before = requests()
    try:
        call()
    except errors.ValidationError:
        if requests() == before:
            tally.typed_local += 1
        else:
            tally.typed_after_request.append(label)
    except errors.LarkError as exc:
        tally.other_lark[type(exc).__name__] += 1
        sent = "" if requests() == before else ", after a request"
        tally.other_labels.append(f"{label}: {type(exc).__name__}{sent}: {str(exc)[:100]!r}")
    except Exception as exc:
        tally.untyped.append(f"{label}: {type(exc).__name__}: {str(exc)[:160]!r}")
    else:
        tally.accepted.append(label)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "…" + f"(len {len(value)})"


def measure_inputs() -> tuple[InputTally, InputTally]:
    """(the catalogue, the hostile download names)."""
    import logging

    from lark_service import NO_RETRY, LarkClient
    from lark_service.testing import Emulator

    logging.getLogger("lark_service").setLevel(logging.CRITICAL)  # bad inputs log by design
    tally, downloads = InputTally(), InputTally()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        os.environ["LARK_HOME"] = str(tmp / "home")
        emulator = Emulator()
        emulator.start()
        try:
            emulator.add_app(APP, SECRET)
            emulator.add_user("alice", open_id="ou_alice", email="alice@example.com")
            emulator.add_chat("oc_reliability", "Reliability", bot_app_ids=[APP])
            count = lambda: len(emulator.requests())  # noqa: E731
            with LarkClient(APP, SECRET, base_url=emulator.url, retry=NO_RETRY) as client:
                client.chats.get_chat("oc_reliability")  # the token is cached from here on
                for name, target in _id_targets(tmp):
                    for vname, value in BAD_IDS:
                        label = f"{name} <- {vname}"
                        _classify(tally, label, functools.partial(target, client, value), count)
                for name, target in _text_targets():
                    for vname, value in BAD_TEXTS:
                        if name.endswith("(title)") and value is None:
                            continue  # the default: no title
                        label = f"{name} <- {vname}"
                        _classify(tally, label, functools.partial(target, client, value), count)
                for name, target in _path_targets(tmp):
                    for vname, value in _bad_paths(tmp):
                        label = f"{name} <- {vname}"
                        _classify(tally, label, functools.partial(target, client, value), count)
                for label, call in _option_cases():
                    _classify(tally, label, functools.partial(call, client), count)
            for label, kwargs in _constructor_cases(emulator.url):
                kwargs.setdefault("base_url", emulator.url)
                kwargs.setdefault("retry", NO_RETRY)

                def construct(kw: dict[str, Any] = kwargs) -> None:
                    with LarkClient(**kw) as bad:
                        bad.chats.get_chat("oc_reliability")

                _classify(tally, f"LarkClient({label})", construct, count)
        finally:
            emulator.stop()
        _downloads(downloads, tmp)
    return tally, downloads


def _downloads(tally: InputTally, tmp: Path) -> None:
    """Hostile Content-Disposition names from a scripted Feishu: the name must come back as a
    safe base name (or None) and ``save`` must stay inside its directory."""
    from lark_service import NO_RETRY, LarkClient

    sent = [0]
    for label, header in DOWNLOAD_HEADERS:

        def handler(request: httpx.Request, header: str = header) -> httpx.Response:
            if "auth/v3" in request.url.path:
                return httpx.Response(
                    200,
                    json={"code": 0, "msg": "ok", "tenant_access_token": "t-x", "expire": 7200},
                )
            sent[0] += 1
            return httpx.Response(
                200,
                content=b"data",
                headers=[
                    (b"content-type", b"application/octet-stream"),
                    (b"content-disposition", header.encode("latin-1")),
                ],
            )

        target = tmp / f"dl-{label}"
        target.mkdir()

        def call(handler: Any = handler, target: Path = target) -> None:
            with LarkClient(
                APP,
                SECRET,
                base_url="https://feishu.test",
                transport=httpx.MockTransport(handler),
                retry=NO_RETRY,
            ) as client:
                resource = client.messaging.download_message_resource("om_x", "file_x")
                name = resource.file_name
                if name is not None and (
                    "/" in name or "\\" in name or "\x00" in name or name in (".", "..")
                ):
                    raise AssertionError(f"unsafe file_name {name!r}")
                saved = resource.save(target)
                if saved.resolve().parent != target.resolve():
                    raise AssertionError(f"saved outside its directory: {saved}")

        _classify(tally, f"download Content-Disposition <- {label}", call, lambda: 0)


# ---------------------------------------------------------------------------------------------
# 2. callbacks across kills and a broker bounce
# ---------------------------------------------------------------------------------------------

HANDLERS_SRC = """
import os
import time
from lark_service.callbacks import CallbackRouter

router = CallbackRouter()


@router.card_action()
def record(event):
    fd = os.open(os.environ["REL_EFFECTS"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{event.event_id} {os.getpid()} {time.time():.3f}\\n".encode())
    finally:
        os.close(fd)
    return None
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(home: Path, effects: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("LARK_")},
        "LARK_HOME": str(home),
        "LARK_APP_ID": APP,
        "LARK_ENCRYPT_KEY": EK,
        "LARK_VERIFICATION_TOKEN": VT,
        "LARK_LOG_LEVEL": "WARNING",
        "REL_EFFECTS": str(effects),
    }


class Proc:
    """A ``lark-service`` subprocess (serve or worker) that can be killed and restarted."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "lark_service.cli", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(ROOT),
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


def _wait_ready(port: int, proc: Proc, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.proc is not None and proc.proc.poll() is not None:
            tail = proc.log.read_text(errors="replace")[-1500:] if proc.log.exists() else ""
            raise SystemExit(f"server exited early:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    raise SystemExit(f"server not ready within {timeout:.0f} s; see {proc.log}")


def _sign(i: int, run: str) -> tuple[str, dict[str, str], bytes]:
    from lark_service.callbacks.simulate import card_action_payload, signed_request

    event_id = f"{run}-{i:05d}"
    payload = card_action_payload(APP, value={"i": i}, verification_token=VT, event_id=event_id)
    headers, body = signed_request(payload, encrypt_key=EK, verification_token=VT)
    return event_id, headers, body


@dataclass
class CallbackRun:
    name: str
    sent: int = 0
    acked: set[str] = field(default_factory=set)
    non_200: Counter[str] = field(default_factory=Counter)  # status/exception -> count
    attempts: int = 0
    gave_up: int = 0
    handled: Counter[str] = field(default_factory=Counter)
    visible_left: int = 0
    leases_expired: int = 0
    connections_closed: int = 0
    server_kills: int = 0
    worker_kills: int = 0
    broker_bounces: int = 0
    seconds: float = 0.0
    chaos_log: list[tuple[float, str]] = field(default_factory=list)  # (wall time, action)
    runs_of: dict[str, list[tuple[float, int]]] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        return len([e for e in self.acked if self.handled[e] == 0]) - self.visible_left

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.handled.values() if n > 1)


async def _send_all(
    run: CallbackRun,
    port_of: Callable[[], int],
    n: int,
    prefix: str,
    concurrency: int,
    rate: float,
    stop_at: float,
) -> None:
    """Send ``n`` signed callbacks, each retried (fresh timestamp, same event id) until it is
    answered 200 or ``stop_at`` passes: what Feishu does with an unanswered callback."""
    queue = list(range(n - 1, -1, -1))
    start = time.monotonic()

    async def worker() -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            while queue:
                i = queue.pop()
                await asyncio.sleep(max(0.0, start + i / rate - time.monotonic()))  # paced
                run.sent += 1
                delay = 0.05
                while True:
                    event_id, headers, body = _sign(i, prefix)
                    run.attempts += 1
                    try:
                        url = f"http://127.0.0.1:{port_of()}/callbacks/{APP}/card"
                        response = await http.post(url, headers=headers, content=body)
                        status = str(response.status_code)
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    if status == "200":
                        run.acked.add(event_id)
                        break
                    run.non_200[status] += 1
                    if time.monotonic() > stop_at:
                        run.gave_up += 1
                        break
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 1.0)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _read_handled(effects: Path) -> Counter[str]:
    counts: Counter[str] = Counter()
    with contextlib.suppress(FileNotFoundError):
        for line in effects.read_text().splitlines():
            if line.strip():
                counts[line.split()[0]] += 1
    return counts


def _read_runs(effects: Path, wanted: set[str]) -> dict[str, list[tuple[float, int]]]:
    """(time, pid) of each run of the ``wanted`` event ids."""
    out: dict[str, list[tuple[float, int]]] = {}
    for line in effects.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] in wanted:
            out.setdefault(parts[0], []).append((float(parts[2]), int(parts[1])))
    return out


def _expire_leases(db: Path) -> int:
    """Running rows of killed processes due now, as if their lease had run out."""
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        cur = conn.execute(
            "UPDATE callback_outbox SET available_at = ? WHERE status = 'running'", (time.time(),)
        )
        conn.commit()
        return cur.rowcount


def _outbox_counts(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        return dict(conn.execute("SELECT status, count(*) FROM callback_outbox GROUP BY status"))


def _visible_not_done(db: Path, event_ids: set[str]) -> int:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        rows = conn.execute(
            "SELECT event_id FROM callback_outbox WHERE status != 'done'"
        ).fetchall()
    return len({r[0] for r in rows} & event_ids)


def _rabbit_bounce(pids: set[int]) -> int:
    """Close, on the broker, the AMQP connections of ``pids`` (this run's server and workers:
    other users of the broker are left alone); how many were closed. Found by matching the
    client ports ``ss`` shows for those processes with ``rabbitmqctl list_connections``."""
    if shutil.which("rabbitmqctl") is None or shutil.which("ss") is None:
        return 0
    sockets = subprocess.run(
        ["ss", "-tnpH", "dst", "127.0.0.1:5672"], capture_output=True, text=True, check=False
    ).stdout
    ports = {
        line.split()[3].rsplit(":", 1)[1]
        for line in sockets.splitlines()
        if len(line.split()) > 3 and any(f"pid={pid}," in line for pid in pids)
    }
    listing = subprocess.run(
        ["rabbitmqctl", "list_connections", "-q", "--no-table-headers", "name", "pid"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout
    closed = 0
    for line in listing.splitlines():
        name, _, conn_pid = line.partition("\t")
        if name.split(" -> ")[0].rsplit(":", 1)[-1] in ports:
            done = subprocess.run(
                ["rabbitmqctl", "close_connection", conn_pid.strip(), "reliability bench bounce"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            closed += done.returncode == 0
    return closed


def _poison(i: int, run: str) -> tuple[str, dict[str, str], bytes]:
    """A signed card callback whose value holds a lone surrogate: it survives JSON decoding
    and the signature, but cannot be stored (UTF-8)."""
    import json

    from lark_service.callbacks import crypto
    from lark_service.callbacks.simulate import card_action_payload

    event_id = f"{run}-poison-{i}"
    payload = card_action_payload(
        APP, value={"bad": "x\ud800"}, verification_token=VT, event_id=event_id
    )
    raw = json.dumps({"encrypt": crypto.encrypt(EK, json.dumps(payload).encode("ascii"))}).encode()
    ts, nonce = str(int(time.time())), secrets.token_hex(8)
    headers = {
        "Content-Type": "application/json",
        "X-Lark-Request-Timestamp": ts,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": crypto.event_signature(ts, nonce, EK, raw),
    }
    return event_id, headers, raw


@dataclass
class PoisonResult:
    valid: int = 0
    poison: int = 0
    valid_status: Counter[str] = field(default_factory=Counter)
    poison_status: Counter[str] = field(default_factory=Counter)
    handled: int = 0


def run_poison(valid: int = 200, poison: int = 5) -> PoisonResult:
    """``valid`` signed callbacks with ``poison`` undecodable ones mixed in, 32 in flight
    (so they share group commits): the valid ones must all be answered 200."""
    result = PoisonResult(valid, poison)
    prefix = f"poi{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory() as home_name:
        home = Path(home_name)
        effects = home / "effects.txt"
        handlers = home / "rel_handlers.py"
        handlers.write_text(HANDLERS_SRC)
        port = _free_port()
        args = ["serve", "--port", str(port), "--handlers", f"{handlers}:router"]
        server = Proc([*args, "--log-level", "WARNING"], _env(home, effects), home / "serve.log")
        server.start()
        try:
            _wait_ready(port, server)
            batch = [("valid", *_sign(i, prefix)) for i in range(valid)]
            step = max(1, valid // poison)
            for k in range(poison):
                batch.insert(k * step + k, ("poison", *_poison(k, prefix)))

            async def send() -> None:
                sem = asyncio.Semaphore(32)
                url = f"http://127.0.0.1:{port}/callbacks/{APP}/card"
                async with httpx.AsyncClient(timeout=10) as http:

                    async def one(kind: str, headers: dict[str, str], body: bytes) -> None:
                        async with sem:
                            try:
                                status = str(
                                    (
                                        await http.post(url, headers=headers, content=body)
                                    ).status_code
                                )
                            except httpx.HTTPError as exc:
                                status = type(exc).__name__
                        (result.valid_status if kind == "valid" else result.poison_status)[
                            status
                        ] += 1

                    await asyncio.gather(*(one(k, h, b) for k, _, h, b in batch))

            asyncio.run(send())
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                result.handled = len(_read_handled(effects))
                if result.handled >= result.valid_status["200"]:
                    break
                time.sleep(0.2)
        finally:
            server.stop()
    return result


def _chaos_schedule(duration: float, kills: int, rabbit: bool) -> list[tuple[float, str]]:
    """Server kills spread over the sending time; with RabbitMQ every other kill also takes
    a worker (alternating), and the broker's connections are closed halfway between two
    kills."""
    step = duration / (kills + 1)
    plan = [(step * (k + 1), "server") for k in range(kills)]
    if rabbit:
        plan += [(step * (k + 1) + step / 4, f"worker{k // 2 % 2}") for k in range(0, kills, 2)]
        plan.append((step * (kills // 2) + step / 2, "bounce"))
    return sorted(plan)


def run_callbacks(
    dispatcher: str, n: int, kills: int, duration: float, amqp_url: str | None
) -> CallbackRun:
    run = CallbackRun(dispatcher)
    prefix = f"rel{secrets.token_hex(3)}"
    queue_name = f"bench.rel.{secrets.token_hex(4)}"
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as home_name:
        home = Path(home_name)
        effects = home / "effects.txt"
        handlers = home / "rel_handlers.py"
        handlers.write_text(HANDLERS_SRC)
        env = _env(home, effects)
        db = home / "state.db"
        port = _free_port()
        serve_args = [
            "serve",
            "--port",
            str(port),
            "--handlers",
            f"{handlers}:router",
            "--log-level",
            "WARNING",
            "--dispatcher",
            dispatcher,
        ]
        if dispatcher == "rabbitmq":
            assert amqp_url
            serve_args += ["--amqp-url", amqp_url, "--exchange", queue_name, "--queue", queue_name]
        server = Proc(serve_args, env, home / "serve.log")
        workers: list[Proc] = []
        if dispatcher == "rabbitmq":
            assert amqp_url
            for index in range(2):
                workers.append(
                    Proc(
                        [
                            "worker",
                            "--handlers",
                            f"{handlers}:router",
                            "--amqp-url",
                            amqp_url,
                            "--exchange",
                            queue_name,
                            "--queue",
                            queue_name,
                            "--database-url",
                            f"sqlite:///{db}",
                            "--log-level",
                            "WARNING",
                        ],
                        env,
                        home / f"worker{index}.log",
                    )
                )
        server.start()
        _wait_ready(port, server)
        for w in workers:
            w.start()
        try:
            stop_at = time.monotonic() + duration + 120
            done = threading.Event()
            schedule = _chaos_schedule(duration, kills, bool(workers))

            def chaos() -> None:
                t0 = time.monotonic()
                for at, action in schedule:
                    if done.wait(max(0.0, t0 + at - time.monotonic())):
                        return
                    run.chaos_log.append((time.time(), action))
                    if action == "bounce":
                        pids = {server.pid, *(w.pid for w in workers)}
                        closed = _rabbit_bounce(pids)
                        run.broker_bounces += closed > 0
                        run.connections_closed += closed
                    elif action.startswith("worker"):
                        victim = workers[int(action[6:])]
                        victim.kill()
                        run.worker_kills += 1
                        victim.start()
                    else:
                        server.kill()
                        run.server_kills += 1
                        server.start()  # not waited for: the schedule keeps its times

            chaos_thread = threading.Thread(target=chaos, daemon=True)
            chaos_thread.start()
            asyncio.run(_send_all(run, lambda: port, n, prefix, 16, n / duration, stop_at))
            done.set()
            chaos_thread.join(120)
            if server.proc is None or server.proc.poll() is not None:
                server.start()
            _wait_ready(port, server)
            # drain: expire the leases of killed processes so this server takes them over
            deadline = time.monotonic() + 90
            expired_once = False
            while time.monotonic() < deadline:
                run.handled = _read_handled(effects)
                counts = _outbox_counts(db)
                open_rows = counts.get("pending", 0) + counts.get("running", 0)
                if all(run.handled[e] for e in run.acked) and open_rows == 0:
                    break
                if not expired_once and time.monotonic() > deadline - 88:
                    time.sleep(3)  # let work in flight finish before taking leases over
                    run.leases_expired = _expire_leases(db)
                    expired_once = True
                time.sleep(0.5)
            run.handled = _read_handled(effects)
            run.runs_of = _read_runs(effects, {e for e, k in run.handled.items() if k > 1})
            run.visible_left = _visible_not_done(db, {e for e in run.acked if not run.handled[e]})
        finally:
            server.stop()
            for w in workers:
                w.stop()
            if dispatcher == "rabbitmq" and amqp_url:
                with contextlib.suppress(Exception):
                    asyncio.run(_delete_queues(amqp_url, queue_name))
    run.seconds = time.monotonic() - started
    return run


async def _delete_queues(amqp_url: str, name: str) -> None:
    import aio_pika

    from lark_service.callbacks.rabbitmq import RabbitTopology

    connection = await aio_pika.connect(amqp_url)
    async with connection:
        await RabbitTopology(exchange=name, queue=name).delete(await connection.channel())


# ---------------------------------------------------------------------------------------------
# 3. slow clients
# ---------------------------------------------------------------------------------------------


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class SlowResult:
    header_timeout: float | None
    connections: int = 0
    dropped: int = 0
    held_max: float = 0.0
    held_p50: float = 0.0
    still_open: int = 0
    healthz_ms: list[float] = field(default_factory=list)
    healthz_failures: int = 0
    big: dict[str, dict[str, Any]] = field(default_factory=dict)


async def _slowloris(port: int, count: int, cap: float, result: SlowResult) -> None:
    held: list[float] = []
    stop = asyncio.Event()

    async def one(k: int) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            held.append(0.0)
            return
        started = time.monotonic()
        writer.write(f"POST /callbacks/{APP}/card HTTP/1.1\r\nHost: x\r\n".encode())
        closed = False
        try:
            while time.monotonic() - started < cap:
                with contextlib.suppress(asyncio.TimeoutError):
                    data = await asyncio.wait_for(reader.read(4096), 1.0)
                    if data == b"" or data:  # EOF, or an error page then EOF: refused
                        closed = True
                        break
                writer.write(f"X-Slow-{k}: {int(time.monotonic())}\r\n".encode())
                await writer.drain()
        except (ConnectionError, OSError):
            closed = True
        held.append(time.monotonic() - started)
        if closed:
            result.dropped += 1
        else:
            result.still_open += 1
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    async def probe() -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    ok = (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    result.healthz_ms.append((time.perf_counter() - t0) * 1000)
                else:
                    result.healthz_failures += 1
                await asyncio.sleep(0.5)

    prober = asyncio.create_task(probe())
    await asyncio.gather(*(one(k) for k in range(count)))
    stop.set()
    await prober
    result.connections = count
    held.sort()
    result.held_max = held[-1] if held else 0.0
    result.held_p50 = held[len(held) // 2] if held else 0.0


def _big_header(port: int, pid: int, size: int) -> dict[str, Any]:
    """Send one header line of ``size`` bytes (64 KiB chunks, stopping when the server
    answers or closes); time to the refusal and the server's RSS growth."""
    rss0 = _rss_kb(pid)
    peak = rss0
    sent = 0
    answer = ""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
        sock.setblocking(False)
        chunk = b"a" * 65536
        while sent < size and time.monotonic() - started < 30:
            try:
                data = sock.recv(4096)
                answer = data.decode("latin-1").split("\r\n", 1)[0] or "closed"
                break
            except BlockingIOError:
                pass
            except OSError:
                answer = "reset"
                break
            try:
                sent += sock.send(chunk[: size - sent])
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                answer = "reset"
                break
            peak = max(peak, _rss_kb(pid)) if sent % (1 << 20) < 65536 else peak
        if not answer:
            with contextlib.suppress(BlockingIOError, OSError):
                sock.sendall(b"\r\n\r\n")
            sock.settimeout(10)
            try:
                data = sock.recv(4096)
                answer = data.decode("latin-1").split("\r\n", 1)[0] or "closed"
            except OSError as exc:
                answer = type(exc).__name__
        elapsed = time.monotonic() - started
    peak = max(peak, _rss_kb(pid))
    return {
        "size": size,
        "sent": sent,
        "answer": answer,
        "seconds": elapsed,
        "rss_growth_mb": (peak - rss0) / 1024,
    }


def run_slow(short: bool) -> SlowResult:
    header_timeout = 5.0 if short else None  # None: serve's default (30 s)
    result = SlowResult(header_timeout)
    with tempfile.TemporaryDirectory() as home_name:
        home = Path(home_name)
        handlers = home / "rel_handlers.py"
        handlers.write_text(HANDLERS_SRC)
        for attempt in range(3):  # a free port may be taken by someone else meanwhile
            port = _free_port()
            args = ["serve", "--port", str(port), "--handlers", f"{handlers}:router"]
            args += ["--log-level", "WARNING"]
            if header_timeout is not None:
                args += ["--header-timeout", str(header_timeout)]
            server = Proc(args, _env(home, home / "effects.txt"), home / "serve.log")
            server.start()
            try:
                _wait_ready(port, server)
                break
            except SystemExit as exc:
                server.stop()
                if attempt == 2:
                    raise
                print(f"slow-client server did not start, trying another port: {exc}")
        try:
            cap = 45.0 if header_timeout is None else header_timeout + 15
            asyncio.run(_slowloris(port, 200, cap, result))
            for size in (1 << 20, 64 << 20):
                result.big[f"{size >> 20} MB"] = _big_header(port, server.pid, size)
        finally:
            server.stop()
    return result


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--write-docs", action="store_true", help="(figures go to docs by hand)")
    parser.add_argument("--only", default="inputs,callbacks,slow")
    parser.add_argument(
        "--amqp-url",
        default=os.environ.get("LARK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    )
    args = parser.parse_args(argv)
    short = args.quick or quick(argv)
    parts = set(args.only.split(","))
    started = time.monotonic()
    print(f"# reliability — {machine_line()}{' (quick)' if short else ''}", flush=True)

    if "inputs" in parts:
        t0 = time.monotonic()
        tally, downloads = measure_inputs()
        print(f"\n## Bad inputs ({time.monotonic() - t0:.1f} s)")
        print(f"tried: {tally.total}")
        print(f"ValidationError before any request: {tally.typed_local}")
        print(f"ValidationError after a request went out: {len(tally.typed_after_request)}")
        for label in tally.typed_after_request:
            print(f"  after a request: {label}")
        others = ", ".join(f"{k} {v}" for k, v in tally.other_lark.most_common())
        print(f"another LarkError: {tally.other_total} ({others})")
        for line in tally.other_labels:
            if not line.split(": ", 1)[1].startswith("NotFoundError"):
                print(f"  {line}")
        print(f"accepted (no error): {len(tally.accepted)}")
        for label in tally.accepted:
            print(f"  accepted: {label}")
        print(f"untyped exceptions (bugs): {len(tally.untyped)}")
        for line in tally.untyped:
            print(f"  UNTYPED {line}")
        print(
            f"hostile download names (Content-Disposition): {downloads.total} tried, "
            f"{len(downloads.accepted)} reduced to a safe base name and saved inside the "
            f"directory, {downloads.typed_local + downloads.other_total} LarkError, "
            f"{len(downloads.untyped)} untyped"
        )
        for line in downloads.untyped:
            print(f"  UNTYPED {line}")
        sys.stdout.flush()

    if "callbacks" in parts:
        poison = run_poison(100 if short else 200)
        print("\n## Poison callbacks in a group commit")
        print(
            f"{poison.valid} valid + {poison.poison} undecodable (lone surrogate) signed "
            f"callbacks, 32 in flight: valid answered "
            f"{dict(poison.valid_status.most_common())}, undecodable answered "
            f"{dict(poison.poison_status.most_common())}, handled {poison.handled}"
        )
        n, kills, duration = (250, 3, 10.0) if short else (1500, 6, 50.0)
        runs = [run_callbacks("inprocess", n, kills, duration, None)]
        try:
            with socket.create_connection(("127.0.0.1", 5672), 2):
                pass
            runs.append(run_callbacks("rabbitmq", n, kills, duration, args.amqp_url))
        except OSError:
            print("RabbitMQ unreachable at 127.0.0.1:5672: skipping the rabbitmq run")
        print("\n## Callbacks across kills")
        print(
            "| dispatcher | callbacks | acked 200 | handled | lost | duplicate runs "
            "| server kills | worker kills | broker bounces | non-200 answers (retried) | s |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |")
        for r in runs:
            handled = len([e for e in r.acked if r.handled[e]])
            non200 = ", ".join(f"{k} {v}" for k, v in r.non_200.most_common()) or "none"
            print(
                f"| {r.name} | {n} | {len(r.acked)} | {handled} | {r.lost} | {r.duplicates} "
                f"| {r.server_kills} | {r.worker_kills} | {r.broker_bounces} | {non200} "
                f"| {r.seconds:.0f} |"
            )
            for event_id, times in sorted(r.runs_of.items()):
                first, second = times[0][0], times[-1][0]
                before = [a for t, a in r.chaos_log if t <= second]
                near = [
                    f"{a} at {t - first:+.2f} s"
                    for t, a in r.chaos_log
                    if first - 5 < t < second + 1
                ]
                print(
                    f"  duplicate {event_id}: times {len(times)} in pids "
                    f"{sorted({p for _, p in times})}, {second - first:.1f} s apart; "
                    f"chaos near: {', '.join(near) or 'none'} (events before: {len(before)})"
                )
            print(f"  {r.name}: {r.leases_expired} leases of killed processes expired by hand")
            if r.name == "rabbitmq":
                print(f"  {r.name}: {r.connections_closed} AMQP connections closed by the bounce")
            if r.visible_left or r.gave_up:
                print(
                    f"  {r.name}: {r.visible_left} acked still visible in the outbox, "
                    f"{r.gave_up} never acknowledged within the window"
                )
        sys.stdout.flush()

    if "slow" in parts:
        slow = run_slow(short)
        limit = "--header-timeout 5" if slow.header_timeout else "defaults (header timeout 30 s)"
        print(f"\n## Slow clients ({limit})")
        print(
            f"{slow.connections} slow-loris connections: {slow.dropped} dropped by the server, "
            f"{slow.still_open} still open at the cap; held at most {slow.held_max:.1f} s "
            f"(median {slow.held_p50:.1f} s)"
        )
        print(
            f"/healthz during the run: {len(slow.healthz_ms)} probes, "
            f"{slow.healthz_failures} failed, p50 {_pct(slow.healthz_ms, 50):.1f} ms, "
            f"max {max(slow.healthz_ms, default=math.nan):.1f} ms"
        )
        for label, big in slow.big.items():
            print(
                f"{label} header: answer {big['answer']!r} after {big['seconds'] * 1000:.1f} ms, "
                f"{big['sent'] / (1 << 20):.2f} MB sent, server RSS +{big['rss_growth_mb']:.1f} MB"
            )
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
