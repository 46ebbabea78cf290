"""A scripted Feishu for pipeline tests: a queue of answers per path, and a record of requests."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

import httpx

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
SEND_PATH = "/open-apis/im/v1/messages"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def ok_message(message_id: str = "om_1") -> httpx.Response:
    return httpx.Response(
        200,
        headers={"X-Tt-Logid": "log-" + message_id},
        json={
            "code": 0,
            "msg": "success",
            "data": {"message_id": message_id, "chat_id": "oc_1", "msg_type": "text"},
        },
    )


def feishu_error(code: int, status: int = 400, msg: str = "failed", **extra: Any) -> httpx.Response:
    return httpx.Response(
        status, headers={"X-Tt-Logid": "log-err"}, json={"code": code, "msg": msg, **extra}
    )


class ScriptedFeishu:
    """Answers from per-path queues (falling back to a default), recording every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.queues: dict[str, deque[Answer]] = defaultdict(deque)
        self.token_counter = 0

    def push(self, path: str, *answers: Answer) -> None:
        self.queues[path].extend(answers)

    def calls(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.calls(path)]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.queues.get(request.url.path)
        if queue:
            answer = queue.popleft()
            if isinstance(answer, Exception):
                raise answer
            if callable(answer) and not isinstance(answer, httpx.Response):
                return answer(request)
            return answer
        if request.url.path == TOKEN_PATH:
            self.token_counter += 1
            return httpx.Response(
                200,
                json={
                    "code": 0,
                    "msg": "ok",
                    "tenant_access_token": f"t-token{self.token_counter:04d}xxxxxxxxxxxxxxxx",
                    "expire": 7200,
                },
            )
        return ok_message()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def async_transport(self) -> httpx.MockTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            await request.aread()
            return self.handler(request)

        return httpx.MockTransport(handle)
