"""Pure helpers of ``client.auth``: the consent and device cards and their texts, the
device-card session marks, token keys and status shaping, written once here and imported by
``_async_client.py`` / ``_async_tokens.py`` (so the generated sync twins do not repeat them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors
from ..credentials import TokenKey, TokenRecord
from ._sessions import AuthSession, SessionStore, store_for
from .models import AuthStatus

if TYPE_CHECKING:
    from .._app import AppCredentials
    from .._async_pipeline import AsyncPipeline
    from .._sync_pipeline import Pipeline

DEVICE_MARK = "urn:lark-service:device-card"
"""The ``redirect_uri`` of a device authorization sent by card (no redirect happens): the
session store lists these for the listeners' background poll. Its verifier column holds the
device code and the poll interval (encrypted), see :func:`device_secret`."""


def device_secret(device_code: str, interval: int | float) -> str:
    """What a device-card session keeps in its (encrypted) verifier column."""
    import json

    return json.dumps({"device_code": device_code, "interval": interval})


def user_key(app: AppCredentials, open_id: str) -> TokenKey:
    """The pool key of ``open_id``'s token for ``app`` (the one ``as_user`` uses)."""
    return TokenKey(app.app_id, app.fingerprint, "user", open_id)


REVOKED_EVENT = "auth.user_access_token.revoked_v4"
"""The event Feishu pushes when a user revokes the app's authorization."""

DEVICE_CARD_VALUE = "auth_device"
"""``value["lark_service"]`` of the device card's *I have authorized* button."""

_TEXTS = {
    "en": {
        "title": "Authorize {app}",
        "body": "{reason}This link works once and expires in 10 minutes.",
        "button": "Authorize",
        "link": "{reason}Please authorize the app (the link works once, for 10 minutes): {url}",
        "device": "{reason}Open the page below, check that it shows the code **{code}** and "
        "approve. Then come back and press *I have authorized* (valid {minutes} minutes).",
        "done": "I have authorized",
        "ok": "Authorized: thank you.",
        "pending": "Not approved yet: approve on the page first, then press the button again.",
        "failed": "This authorization ended ({why}); ask for a new card.",
    },
    "zh": {
        "title": "授权 {app}",
        "body": "{reason}该链接仅可使用一次，10 分钟内有效。",
        "button": "授权",
        "link": "{reason}请授权应用（链接仅可使用一次，10 分钟内有效）：{url}",
        "device": "{reason}请打开下方页面，确认其显示的代码为 **{code}** 并批准，然后回来点击"
        "“我已授权”（{minutes} 分钟内有效）。",
        "done": "我已授权",
        "ok": "授权成功，谢谢。",
        "pending": "尚未批准：请先在页面上批准，然后再次点击按钮。",
        "failed": "此授权已结束（{why}），请重新申请。",
    },
}


def auth_card(
    url: str, *, app_name: str, reason: str | None, language: str = "en"
) -> dict[str, Any]:
    """The consent card: a title, the reason and an *Authorize* button opening ``url``."""
    texts = _TEXTS.get(language[:2], _TEXTS["en"])
    lead = f"{reason}\n\n" if reason else ""
    return {
        "config": {"wide_screen_mode": True},
        "header": {
            "template": "blue",
            "title": {"tag": "plain_text", "content": texts["title"].format(app=app_name)},
        },
        "elements": [
            {
                "tag": "div",
                "text": {"tag": "lark_md", "content": texts["body"].format(reason=lead)},
            },
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "type": "primary",
                        "text": {"tag": "plain_text", "content": texts["button"]},
                        "url": url,
                        "value": {"lark_service": "auth"},
                    }
                ],
            },
        ],
    }


def device_card(
    url: str,
    *,
    user_code: str,
    state: str,
    app_name: str,
    reason: str | None,
    minutes: int,
    language: str = "en",
) -> dict[str, Any]:
    """The device-flow card: the verification link, the user code, and an *I have
    authorized* button whose click (``value={"lark_service": "auth_device", "state": …}``)
    makes the listener check the authorization (no redirect, no public URL)."""
    texts = _TEXTS.get(language[:2], _TEXTS["en"])
    lead = f"{reason}\n\n" if reason else ""
    return {
        "config": {"wide_screen_mode": True},
        "header": {
            "template": "blue",
            "title": {"tag": "plain_text", "content": texts["title"].format(app=app_name)},
        },
        "elements": [
            {
                "tag": "div",
                "text": {
                    "tag": "lark_md",
                    "content": texts["device"].format(reason=lead, code=user_code, minutes=minutes),
                },
            },
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "type": "primary",
                        "text": {"tag": "plain_text", "content": texts["button"]},
                        "url": url,
                        "value": {"lark_service": "auth"},
                    },
                    {
                        "tag": "button",
                        "type": "default",
                        "text": {"tag": "plain_text", "content": texts["done"]},
                        "value": {"lark_service": DEVICE_CARD_VALUE, "state": state},
                    },
                ],
            },
        ],
    }


def device_result_card(text: str, *, app_name: str, language: str = "en") -> dict[str, Any]:
    """The card that replaces the device card once the authorization ended."""
    texts = _TEXTS.get(language[:2], _TEXTS["en"])
    return {
        "config": {"wide_screen_mode": True},
        "header": {
            "template": "green",
            "title": {"tag": "plain_text", "content": texts["title"].format(app=app_name)},
        },
        "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": text}}],
    }


def card_text(key: str, language: str = "en", **values: Any) -> str:
    """One of the auth cards' texts (``ok``, ``pending``, ``failed``) in ``language``."""
    texts = _TEXTS.get(language[:2], _TEXTS["en"])
    return texts[key].format(**values)


def _open_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise errors.ValidationError("open_id must be a non-empty string", field="open_id")
    return value.strip()


def _status(app_id: str, open_id: str, record: TokenRecord | None, now: float) -> AuthStatus:
    if record is None:
        return AuthStatus(open_id=open_id, app_id=app_id, authorized=False)
    refresh_alive = bool(record.refresh_token) and (
        record.refresh_expires_at is None or record.refresh_expires_at > now
    )
    return AuthStatus(
        open_id=open_id,
        app_id=app_id,
        authorized=refresh_alive or record.is_usable(now),
        expires_at=record.expires_at,
        refresh_expires_at=record.refresh_expires_at,
        scopes=list(record.scopes or ()),
    )


def _device_parts(session: AuthSession) -> tuple[str, float]:
    import json

    try:
        data = json.loads(session.code_verifier)
        return str(data["device_code"]), float(data.get("interval") or 5)
    except (ValueError, KeyError, TypeError):
        raise errors.AuthSessionExpiredError(
            "this device authorization session is unreadable",
            hint="Send a new card: client.auth.send_auth_card(open_id, method='device').",
        ) from None


def _suppress_lark() -> Any:
    import contextlib

    return contextlib.suppress(errors.LarkError)


def _new_id() -> str:
    import uuid

    return str(uuid.uuid4())


def session_store(pipeline: AsyncPipeline | Pipeline) -> SessionStore:
    """The pipeline's authorization-session store (next to its token store)."""
    return pipeline.shared("auth.sessions", lambda: store_for(pipeline.pool.store))
