"""``lark-service demo``: the library's main job, end to end, against a local emulator."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from ._common import console, markup_safe, user_errors

__all__ = ["demo"]


@click.command()
@click.option("--keep-running", is_flag=True, help="Leave the emulator up until Ctrl-C.")
@user_errors
def demo(keep_running: bool) -> None:
    """Start an embedded emulator and send messages, write a document and a Bitable table
    through lark-service."""
    from rich.table import Table

    from .. import LarkClient, RetryPolicy
    from ..config import Settings
    from ..logging import configure_logging
    from ..testing import Emulator

    out = console()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lark-demo-") as home, Emulator() as emu:
        emu.seed_demo()
        out.rule("[bold]lark-service demo")
        out.print(f"1. Feishu emulator running at [cyan]{emu.url}[/] with app [cyan]cli_demo[/]")
        settings = Settings(home=Path(home), log_level="WARNING")
        # Short backoff so the demo's injected failure retries quickly.
        retry = RetryPolicy(base_delay=0.2)
        configure_logging("WARNING")  # shows the retry line the injected failure causes
        with LarkClient(
            "cli_demo", "demo-secret", base_url=emu.url, settings=settings, retry=retry
        ) as client:
            out.print("2. send_text_message('alice@example.com', ...)  [dim]# no token handling[/]")
            first = client.messaging.send_text_message(
                "alice@example.com", "您有新的工单待处理 (ticket #42)"
            )
            out.print(
                f"   -> message_id [green]{first.message_id}[/]  request_id {first.request_id}"
            )
            out.print("3. send to the 'Ops Alerts' chat (oc_demo) while the emulator fails once")
            emu.inject_fault("/open-apis/im/v1/messages", "status", status=502, count=1)
            second = client.messaging.send_text_message("oc_demo", "Deploy finished ✅")
            out.print(
                f"   -> 502 retried, then [green]{second.message_id}[/] "
                f"(every attempt carried the same uuid, so Feishu never sends it twice)"
            )
            _documents_and_tables(client, emu, out)
        table = Table(title="What the emulator received", show_lines=False)
        for column in ("message_id", "to", "type", "content"):
            table.add_column(column)
        for message in emu.messages():
            table.add_row(
                markup_safe(message.message_id),
                markup_safe(message.receive_id),
                markup_safe(message.msg_type),
                markup_safe(json.dumps(message.content, ensure_ascii=False)),
            )
        out.print(table)
        fetches = emu.token_fetches()
        out.print(
            f"Token fetches: {fetches} (one, shared by every call). "
            f"Done in {time.perf_counter() - started:.1f} s."
        )
        if keep_running:
            out.print(f"Emulator still running at {emu.url}; Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass


_REPORT = """# Weekly report

## Summary

Revenue is **up 12%** week on week.

- incidents: 2
  - disk full (fixed)
- deploys: 14

```python
print("all green")
```
"""


def _documents_and_tables(client: Any, emu: Any, out: Any) -> None:
    """4. a Markdown report as a Docx document and back; 5. rows into a Bitable and a filter."""
    from ..bitable import F
    from ..testing.emulator.bitable_state import NUMBER, SINGLE, TEXT, bitable_of

    out.print("4. create_document('Weekly report', content=<Markdown>), then to_markdown()")
    doc = client.docs.create_document("Weekly report", content=_REPORT)
    blocks = len(client.docs.get_document_content(doc.document_id).blocks)
    out.print(f"   -> document [green]{doc.document_id}[/], {blocks} blocks; back as Markdown:")
    for line in client.docs.to_markdown(doc.document_id).splitlines():
        out.print(f"      [dim]{markup_safe(line)}[/]", highlight=False)
    bitable_of(emu).add_table(
        "bascnDemo",
        "Incidents",
        {"Title": TEXT, "Status": SINGLE, "Score": NUMBER},
        table_id="tblIncidents",
        options={"Status": ["Open", "Closed"]},
    )
    rows = [
        {"Title": f"incident {n}", "Status": "Open" if n % 3 else "Closed", "Score": n % 100}
        for n in range(1, 1201)
    ]
    out.print("5. batch_create_records(1,200 rows) then query_records(Status = Open & Score > 90)")
    result = client.bitable.batch_create_records("bascnDemo", "tblIncidents", rows)
    found = client.bitable.query_records(
        "bascnDemo", "tblIncidents", filter=(F("Status") == "Open") & (F("Score") > 90)
    ).to_list()
    out.print(
        f"   -> {len(result.succeeded)} written in {result.calls} calls of at most 500 "
        f"(one writer per table, a client_token per call); {len(found)} match the filter"
    )
