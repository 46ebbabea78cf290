"""A tour of the client platform against a local emulator: no Feishu account needed.

    python examples/platform_tour.py

Shows per-call options (with_options, NO_RETRY), acting as a user (as_user), lazy pagers and
an instrumentation subscriber. Needs the emulator extra: pip install 'lark-service[emulator]'.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter

from lark_service import NO_RETRY, LarkClient, errors, instrumentation
from lark_service.instrumentation import Event
from lark_service.testing import Emulator

calls: Counter[tuple[str, str]] = Counter()


@instrumentation.subscribe
def count_requests(event: Event) -> None:
    """A metrics-like subscriber: counts finished requests by family and outcome."""
    if event.name == "request.finished":
        calls[(event["family"], event["outcome"])] += 1


def main() -> None:
    os.environ.setdefault("LARK_HOME", tempfile.mkdtemp(prefix="lark-tour-"))
    with Emulator() as emu:
        emu.add_app("cli_tour", "tour-secret")
        emu.add_user("alice", open_id="ou_alice", name="Alice")
        for n in range(230):
            emu.add_chat(f"oc_{n:03d}", f"Team {n:03d}")

        with LarkClient("cli_tour", "tour-secret", base_url=emu.url) as client:
            # 1. lazy pagers: nothing is fetched until asked; first(n) fetches only its pages
            pager = client.chats.list_chats()
            first = pager.first(3)
            print("first chats:", [chat.name for chat in first])
            print(
                "all chats:",
                len(pager.to_list()),
                "in",
                len(emu.requests(path="/open-apis/im/v1/chats")),
                "requests",
            )

            # 2. per-call options: a view sharing connections and tokens
            emu.inject_fault("/open-apis/im/v1/messages", "status", status=502)
            try:
                client.with_options(retry=NO_RETRY).messaging.send_text_message("ou_alice", "once")
            except errors.ServerError as exc:
                print("NO_RETRY raised at once:", type(exc).__name__, exc.http_status)
            message = client.messaging.send_text_message("ou_alice", "hello")
            print("sent", message.message_id, "request_id", message.request_id)

            # 3. acting as a user: until the user authorized the app, a clear error, no request
            try:
                client.as_user("ou_alice").messaging.send_text_message("ou_alice", "as me")
            except errors.UserTokenMissingError as exc:
                print("as_user:", exc.msg)

            # 4. ids that would change the endpoint never leave the process
            try:
                client.chats.get_chat("..")
            except errors.ValidationError as exc:
                print("refused:", exc.msg)

    print("requests by family and outcome:", dict(calls))


if __name__ == "__main__":
    main()
