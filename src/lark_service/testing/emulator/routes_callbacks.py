"""Callbacks as Feishu sends them, and the delayed card update.

``POST /open-apis/interactive/v1/card/update``
    Apply a card with a ``c-…`` token from a card callback: the token lives 30 minutes (on the
    emulator clock) and works twice; the card (≤ 30 KB) replaces the message's content.
``POST /_emulator/cards/{message_id}/click``
    A user clicks a component of an interactive message (``Emulator.click_card``): the
    emulator sends a ``card.action.trigger`` (or, with ``"legacy": true``, the legacy card
    callback) to the app's ``callback_url`` — encrypted with its ``encrypt_key`` and signed as
    Feishu signs — records the answer, and applies a card in the answer to the message. Body:
    ``{"user_id" | "open_id", "value": {...}, "name", "tag", "form_value", "input_value",
    "option", "legacy"}``. The click must name a component that is on the card (by its
    ``value``, whole or some keys, and/or its ``name``); the callback carries that component's
    whole value. Refusals are Feishu-shaped: 230001 no such message (HTTP 404) or component,
    230054 not a card, 230011 recalled, 99992352/99992351 unknown user.
``POST /_emulator/users/{user_id}/say``
    The user sends the bot a text message: ``im.message.receive_v1`` goes to the app's URL.
    Body: ``{"text", "app_id"?, "chat_id"?}``.
``POST /_emulator/callbacks/repush``
    Feishu re-pushes a callback that was not answered with HTTP 200 after 15 s, 5 min, 1 h and
    6 h. Here nothing happens by itself: advance the emulator clock and call this endpoint to
    deliver every re-push that is due (``{"all": true}``: due or not).
``GET /_emulator/callbacks``
    Every delivery with its attempts (status, answer) — what the app answered.

An app's ``callback_url`` serves both kinds; when it ends in ``/card`` or ``/event`` (as
lark-service's server routes do) events go to the ``/event`` sibling and card callbacks to
``/card``.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ...callbacks.simulate import (
    card_action_payload,
    legacy_card_payload,
    message_event_payload,
    signed_request,
)
from .api import FeishuError, authenticate, ok, read_json
from .state import App, EmulatorState

__all__ = [
    "CARD_TOKEN_TTL",
    "CARD_TOKEN_USES",
    "CARD_UPDATE_PATH",
    "REPUSH_SCHEDULE",
    "CallbackDomain",
    "Component",
    "Delivery",
    "card_components",
    "click_card",
    "routes",
]

CARD_UPDATE_PATH = "/open-apis/interactive/v1/card/update"
CARD_TOKEN_TTL = 30 * 60
CARD_TOKEN_USES = 2
CARD_LIMIT = 30 * 1024
REPUSH_SCHEDULE: tuple[float, ...] = (15.0, 300.0, 3600.0, 6 * 3600.0)
"""Seconds after a failed push at which Feishu pushes again (bounded: then it gives up)."""
DELIVERY_TIMEOUT = 5.0
CODE_CARD_TOKEN = 230099  # emulator's choice: Feishu's "failed to create card content" family


@dataclass
class CardToken:
    """A ``c-…`` token handed to the app in a card callback."""

    token: str
    app_id: str
    message_id: str
    issued_at: float
    uses: int = 0


@dataclass
class Delivery:
    """One callback the emulator sends (and re-sends) to an app."""

    id: int
    app_id: str
    kind: str
    url: str
    payload: dict[str, Any]
    legacy: bool = False
    message_id: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    next_at: float | None = None
    delivered: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        data = asdict(self)
        data["event_id"] = (self.payload.get("header") or {}).get("event_id")
        return data


class CallbackDomain:
    """The emulator's callback state (kept in ``EmulatorState.domain("callbacks")``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[str, CardToken] = {}
        self.deliveries: list[Delivery] = []

    def new_delivery(self, **kw: Any) -> Delivery:
        with self.lock:
            delivery = Delivery(id=len(self.deliveries) + 1, **kw)
            self.deliveries.append(delivery)
            return delivery


def _domain(state: EmulatorState) -> CallbackDomain:
    return state.domain("callbacks", CallbackDomain)


def _url_for(url: str, kind: str) -> str:
    for a, b in (("/card", "/event"), ("/event", "/card")):
        if url.endswith(a) and kind == b.strip("/"):
            return url[: -len(a)] + b
    return url


def _apply_card(state: EmulatorState, message_id: str, card: dict[str, Any]) -> None:
    raw = json.dumps(card, ensure_ascii=False)
    state.update_message(
        message_id, content=card, content_raw=raw, updated=True, update_time=state.clock.now_ms()
    )


def _card_in_answer(answer: Any, legacy: bool) -> dict[str, Any] | None:
    if not isinstance(answer, dict):
        return None
    if legacy:
        whole = {k: v for k, v in answer.items() if k != "toast"}
        return whole or None
    card = answer.get("card")
    if isinstance(card, dict) and card.get("type") == "raw" and isinstance(card.get("data"), dict):
        data: dict[str, Any] = card["data"]
        return data
    return None


async def deliver(state: EmulatorState, delivery: Delivery) -> dict[str, Any]:
    """Send (or re-send) ``delivery`` now, signed afresh; record and return the attempt."""
    app = state.get_app(delivery.app_id)
    if app is None:
        raise ValueError(f"app {delivery.app_id} is gone")
    headers, body = signed_request(
        delivery.payload,
        encrypt_key=app.encrypt_key,
        verification_token=app.verification_token,
        legacy=delivery.legacy,
    )
    attempt: dict[str, Any] = {"at": state.clock.now(), "status": None, "answer": None}
    try:
        async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT) as client:
            response = await client.post(delivery.url, headers=headers, content=body)
        attempt["status"] = response.status_code
        try:
            attempt["answer"] = response.json()
        except ValueError:
            attempt["answer"] = response.text[:2000]
    except httpx.HTTPError as exc:
        attempt["error"] = f"{type(exc).__name__}: {exc}"
    domain = _domain(state)
    with domain.lock:
        delivery.attempts.append(attempt)
        if attempt["status"] == 200:
            delivery.delivered = True
            delivery.next_at = None
        elif len(delivery.attempts) <= len(REPUSH_SCHEDULE):
            delivery.next_at = state.clock.now() + REPUSH_SCHEDULE[len(delivery.attempts) - 1]
        else:
            delivery.next_at = None  # Feishu gives up
    if attempt["status"] == 200 and delivery.message_id:
        card = _card_in_answer(attempt["answer"], delivery.legacy)
        if card is not None:
            with state.lock:
                if state.get_message(delivery.message_id) is not None:
                    _apply_card(state, delivery.message_id, card)
    return attempt


def _callback_app(state: EmulatorState, app_id: str | None) -> App:
    if app_id:
        app = state.get_app(app_id)
        if app is None:
            raise ValueError(f"unknown app {app_id}")
    else:
        candidates = [a for a in state.apps() if a.callback_url]
        if len(candidates) != 1:
            raise ValueError("name the app (app_id): not exactly one app has a callback_url")
        app = candidates[0]
    if not app.callback_url:
        raise ValueError(f"app {app.app_id} has no callback_url; seed it with one")
    return app


INTERACTIVE_TAGS = frozenset(
    {
        "button",
        "checker",
        "date_picker",
        "input",
        "multi_select_person",
        "multi_select_static",
        "overflow",
        "picker_datetime",
        "picker_time",
        "select_img",
        "select_person",
        "select_static",
    }
)
"""Card components a user can act on (each sends a callback with its ``value``)."""

CLICK_FIELDS = frozenset(
    {"user_id", "open_id", "value", "tag", "name", "form_value", "input_value", "option", "legacy"}
)


@dataclass(frozen=True)
class Component:
    """An interactive component of a card: what a click on it sends."""

    tag: str
    name: str | None
    value: dict[str, Any]
    options: tuple[str, ...] = ()


def card_components(card: Any) -> list[Component]:
    """Every interactive component of a card (v1 ``elements``/``actions``, JSON 2.0 ``body``,
    forms, columns, collapsible panels: found wherever they are nested)."""
    found: list[Component] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        tag = node.get("tag")
        if isinstance(tag, str) and tag in INTERACTIVE_TAGS:
            value = node.get("value") if isinstance(node.get("value"), dict) else None
            for behavior in node.get("behaviors") or []:
                if (
                    value is None
                    and isinstance(behavior, dict)
                    and behavior.get("type") == "callback"
                    and isinstance(behavior.get("value"), dict)
                ):
                    value = behavior["value"]
            options = tuple(
                str(o["value"])
                for o in node.get("options") or []
                if isinstance(o, dict) and "value" in o
            )
            name = node.get("name")
            found.append(
                Component(tag, name if isinstance(name, str) else None, value or {}, options)
            )
        for child in node.values():
            if isinstance(child, (dict, list)):
                walk(child)

    walk(card)
    return found


def _click_error(code: int, msg: str, *, http_status: int = 400) -> FeishuError:
    return FeishuError(code, msg, http_status=http_status)


def _clicked(card: Any, body: dict[str, Any]) -> Component:
    """The component a click names, as Feishu would send it (its whole ``value``), or a
    Feishu-shaped refusal: a click names a component by ``name`` and/or ``value`` (all of
    whose keys must match the component's), optionally ``tag``; an ``option`` must be one of
    the component's options."""
    value, name, tag, option = (body.get(k) for k in ("value", "name", "tag", "option"))
    if value is not None and not isinstance(value, dict):
        raise _click_error(
            230001,
            "Your request contains an invalid request parameter, ext=value must be an object "
            "(Feishu: the callback value is an object)",
        )
    if not value and name is None:
        raise _click_error(
            230001,
            "Your request contains an invalid request parameter, ext=name the component "
            "clicked: its value (or some of its keys) or its name",
        )
    for component in card_components(card):
        if name is not None and component.name != name:
            continue
        if tag is not None and component.tag != tag:
            continue
        if value and not all(component.value.get(k, _MISSING) == v for k, v in value.items()):
            continue
        if option is not None and component.options and str(option) not in component.options:
            continue
        return component
    wanted = ", ".join(
        f"{k}={body[k]!r}" for k in ("name", "tag", "value", "option") if body.get(k) is not None
    )
    raise _click_error(
        230001,
        f"Your request contains an invalid request parameter, ext=the card has no component "
        f"with {wanted}",
    )


_MISSING = object()


def _operator(state: EmulatorState, app: App, body: dict[str, Any]) -> tuple[str, str | None]:
    """``(open_id, user_id)`` of the clicking user; 99992351/99992352 for an unknown one."""
    user_id, open_id = body.get("user_id"), body.get("open_id")
    if user_id is not None:
        user = state.get_user(str(user_id))
        if user is None:
            raise _click_error(99992352, f"user_id not exist, ext=no user {user_id}")
        return user.open_id_for(app.app_id), user.user_id
    if open_id is not None:
        user = state.find_user("open_id", str(open_id), app.app_id)
        if user is None:
            raise _click_error(
                99992351, f"open_id not exist, ext=no user with open_id {open_id} for {app.app_id}"
            )
        return str(open_id), user.user_id
    return "ou_emulator_user", None


async def click_card(state: EmulatorState, message_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """A user clicks a component of the card ``message_id``: deliver the callback to the
    app, apply a card in its answer, and return the delivery with ``status`` and ``answer``.

    Refusals are :class:`FeishuError`: 230001 no such message (HTTP 404) or no such
    component on the card, 230054 not a card, 230011 recalled, 99992351/99992352 unknown
    user; ``ValueError`` for an app without a ``callback_url``.
    """
    unknown = sorted(set(body) - CLICK_FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {sorted(CLICK_FIELDS)}")
    message = state.get_message(message_id)
    if message is None:
        raise _click_error(
            230001,
            f"Your request contains an invalid request parameter, ext=invalid message_id "
            f"{message_id}",
            http_status=404,
        )
    if message.msg_type != "interactive":
        raise _click_error(
            230054, f"This operation is not supported for {message.msg_type} messages."
        )
    if message.deleted:
        raise _click_error(230011, "The message is recalled.")
    component = _clicked(message.content, body)
    app = _callback_app(state, message.app_id)
    open_id, user_id = _operator(state, app, body)
    card_token = "c-" + secrets.token_hex(20)
    legacy = bool(body.get("legacy", False))
    if legacy:
        payload = legacy_card_payload(
            value=component.value,
            tag=component.tag,
            open_id=open_id,
            open_message_id=message_id,
            open_chat_id=message.chat_id,
            card_token=card_token,
        )
    else:
        payload = card_action_payload(
            app.app_id,
            value=component.value,
            tag=component.tag,
            name=component.name,
            open_id=open_id,
            user_id=user_id,
            open_message_id=message_id,
            open_chat_id=message.chat_id,
            card_token=card_token,
            verification_token=app.verification_token,
            form_value=body.get("form_value"),
            tenant_key=app.tenant_key,
        )
        for key in ("input_value", "option"):
            if key in body:
                payload["event"]["action"][key] = body[key]
    domain = _domain(state)
    with domain.lock:
        domain.tokens[card_token] = CardToken(card_token, app.app_id, message_id, state.clock.now())
    delivery = domain.new_delivery(
        app_id=app.app_id,
        kind="card",
        url=_url_for(str(app.callback_url), "card"),
        payload=payload,
        legacy=legacy,
        message_id=message_id,
    )
    attempt = await deliver(state, delivery)
    return {**delivery.to_dict(), "status": attempt["status"], "answer": attempt["answer"]}


def routes(state: EmulatorState) -> list[BaseRoute]:
    """The card update endpoint and the callback control endpoints."""

    async def card_update(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant",))
        body = await read_json(request)
        token, card = body.get("token"), body.get("card")
        if not isinstance(token, str) or not token:
            raise FeishuError(9499, "Bad Request, ext=token is required")
        if not isinstance(card, dict) or not card:
            raise FeishuError(9499, "Bad Request, ext=card must be a non-empty object")
        if len(json.dumps(card, ensure_ascii=False).encode()) > CARD_LIMIT:
            raise FeishuError(230025, "The message content is too long.")
        domain = _domain(state)
        now = state.clock.now()
        with domain.lock:
            found = domain.tokens.get(token)
            if found is None or found.app_id != caller.app_id:
                raise FeishuError(CODE_CARD_TOKEN, "card token is invalid")
            if now > found.issued_at + CARD_TOKEN_TTL:
                raise FeishuError(CODE_CARD_TOKEN, "card token has expired (30 minutes)")
            if found.uses >= CARD_TOKEN_USES:
                raise FeishuError(CODE_CARD_TOKEN, "card token has been used twice already")
            found.uses += 1
            message_id = found.message_id
        with state.lock:
            if state.get_message(message_id) is None:
                raise FeishuError(230011, "The message was withdrawn.")
            _apply_card(state, message_id, {k: v for k, v in card.items() if k != "open_ids"})
        return ok({})

    async def click(request: Request) -> Response:
        body = await _object(request)
        message_id = request.path_params["message_id"]
        result = await click_card(state, message_id, body)
        return JSONResponse(result)

    async def say(request: Request) -> Response:
        body = await _object(request)
        user_id = request.path_params["user_id"]
        user = state.get_user(user_id)
        if user is None:
            return JSONResponse({"error": f"no user {user_id}"}, status_code=404)
        text = body.get("text")
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        app = _callback_app(state, body.get("app_id"))
        chat_id = body.get("chat_id")
        chat = state.get_chat(chat_id) if chat_id else state.p2p_chat(app.app_id, user_id)
        if chat is None:
            return JSONResponse({"error": f"no chat {chat_id}"}, status_code=404)
        payload = message_event_payload(
            app.app_id,
            text,
            open_id=user.open_id_for(app.app_id),
            chat_id=chat.chat_id,
            chat_type="p2p" if chat.chat_type == "p2p" else "group",
            message_id=body.get("message_id"),
            verification_token=app.verification_token,
        )
        payload["event"]["sender"]["sender_id"].update(
            {"user_id": user.user_id, "union_id": user.union_id}
        )
        delivery = _domain(state).new_delivery(
            app_id=app.app_id,
            kind="event",
            url=_url_for(str(app.callback_url), "event"),
            payload=payload,
        )
        attempt = await deliver(state, delivery)
        return JSONResponse(
            {**delivery.to_dict(), "status": attempt["status"], "answer": attempt["answer"]}
        )

    async def repush(request: Request) -> Response:
        body = await _object(request)
        force = bool(body.get("all", False))
        domain = _domain(state)
        now = state.clock.now()
        with domain.lock:
            due = [
                d
                for d in domain.deliveries
                if not d.delivered and d.next_at is not None and (force or d.next_at <= now)
            ]
        results = []
        for delivery in due:
            attempt = await deliver(state, delivery)
            results.append({"id": delivery.id, "status": attempt["status"]})
        return JSONResponse({"pushed": results})

    async def deliveries(request: Request) -> Response:
        domain = _domain(state)
        with domain.lock:
            items = [d.to_dict() for d in domain.deliveries]
        return JSONResponse({"items": items})

    prefix = "/_emulator"
    return [
        Route(CARD_UPDATE_PATH, card_update, methods=["POST"]),
        Route(prefix + "/cards/{message_id}/click", _guard(click), methods=["POST"]),
        Route(prefix + "/users/{user_id}/say", _guard(say), methods=["POST"]),
        Route(prefix + "/callbacks/repush", _guard(repush), methods=["POST"]),
        Route(prefix + "/callbacks", deliveries, methods=["GET"]),
    ]


async def _object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("request body must be a JSON object")
    return value


def _guard(handler: Any) -> Any:
    async def guarded(request: Request) -> Response:
        try:
            response: Response = await handler(request)
            return response
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    return guarded
