"""The auth callbacks every server needs: the revocation event and the device card's button.

``lark-service serve`` and ``lark-service listen`` add them to the handlers they load; a
mounted integration (``create_app(router)``, a ``LongConnection(router)`` of its own) adds
them with one line::

    from lark_service.auth import include_auth

    app = create_app(include_auth(router))

- ``auth.user_access_token.revoked_v4``: the user's tokens are forgotten
  (:meth:`~lark_service.auth.AsyncAuthClient.handle_revocation`), so the next ``as_user``
  call raises ``AuthorizationRequiredError`` with a fresh link. A handler of the caller's
  own for that event (or a ``"*"`` one) still runs afterwards.
- the *I have authorized* button of a device card (``send_auth_card(..., method="device")``):
  one check of that authorization; the card becomes *Authorized* or a toast says to approve
  first. Over the long connection this needs no public URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import errors
from ..logging import get_logger
from ._helpers import DEVICE_CARD_VALUE, REVOKED_EVENT, card_text, device_result_card

if TYPE_CHECKING:
    from .._async_client import AsyncLarkClient
    from ..callbacks.router import CallbackRouter, HandlerContext

__all__ = ["AUTH_ROUTER_MARK", "include_auth"]

logger = get_logger("lark_service.auth")

AUTH_ROUTER_MARK = "_lark_service_auth_routes"
"""Set on a router that :func:`include_auth` made (so a second call is a no-op)."""


def include_auth(router: CallbackRouter, client: AsyncLarkClient | None = None) -> CallbackRouter:
    """A router with ``router``'s routes (and its name, so outbox rows keep their owner)
    behind the auth routes: the revocation event, then whatever of ``router`` matches it too;
    the device card's button. ``client``: the :class:`~lark_service.AsyncLarkClient` the
    handlers use (default: the dispatcher's, else one from the environment). Calling it on
    its own result returns that result unchanged."""
    from ..callbacks.router import CallbackRouter

    if getattr(router, AUTH_ROUTER_MARK, False):
        return router
    combined = CallbackRouter(name=router.name)
    holder = _ClientHolder(client)

    @combined.event(REVOKED_EVENT)
    async def auth_revoked(event: Any, ctx: HandlerContext) -> Any:
        await holder.get(ctx).auth.handle_revocation(event)
        route = router.match(event)
        if route is None:
            return None
        return await route.run(event, ctx)

    @combined.card_action(value_key="lark_service", value=DEVICE_CARD_VALUE)
    async def auth_device_clicked(event: Any, ctx: HandlerContext) -> Any:
        return await _device_clicked(holder.get(ctx), event)

    combined.include(router)
    setattr(combined, AUTH_ROUTER_MARK, True)
    return combined


class _ClientHolder:
    def __init__(self, client: AsyncLarkClient | None) -> None:
        self.client = client

    def get(self, ctx: HandlerContext) -> AsyncLarkClient:
        if self.client is not None:
            return self.client
        if ctx.client is not None:
            return ctx.client  # type: ignore[no-any-return]
        from .._async_client import AsyncLarkClient

        self.client = AsyncLarkClient()
        return self.client


async def _clicker_authorized(client: AsyncLarkClient, event: Any, app_id: str | None) -> bool:
    open_id = getattr(getattr(event, "operator", None), "open_id", None)
    if not isinstance(open_id, str) or not open_id:
        return False
    try:
        status = await client.auth.status(open_id, app_id=app_id)
    except errors.LarkError:
        return False
    return bool(status.authorized)


async def _device_clicked(client: AsyncLarkClient, event: Any) -> Any:
    from ..callbacks.router import CardResponse, Toast

    action = getattr(event, "action", None)
    value = getattr(action, "value", None) or {}
    state = value.get("state") if isinstance(value, dict) else None
    app_id = getattr(event, "app_id", None) or None
    if not isinstance(state, str) or not state:
        return Toast(card_text("failed", why="no authorization on this card"), "error")
    try:
        done = await client.auth.complete_device_authorization(state, wait=False, app_id=app_id)
    except errors.AuthSessionExpiredError as exc:
        if await _clicker_authorized(client, event, app_id):  # e.g. the listener's poll did it
            text = card_text("ok")
            return CardResponse(
                toast=Toast(text, "success"),
                card=device_result_card(text, app_name=app_id or ""),
            )
        return CardResponse(toast=Toast(card_text("failed", why=exc.msg), "warning"))
    except errors.LarkError as exc:
        logger.info("a device authorization check failed: %s", exc.msg)
        return Toast(card_text("failed", why=exc.msg), "error")
    if done is None:
        return Toast(card_text("pending"), "info")
    text = card_text("ok")
    return CardResponse(
        toast=Toast(text, "success"),
        card=device_result_card(text, app_name=done.app_id),
    )
