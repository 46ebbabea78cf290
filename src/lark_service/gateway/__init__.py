"""The HTTP gateway: Feishu for services not written in Python (docs/gateway.md).

``lark-service serve --gateway`` (or ``LARK_GATEWAY_ENABLED=true``) answers ``/api/v1/...``
beside the callbacks: every operation a domain declares in its ``_gateway.py``
(:func:`expose`), a raw passthrough and an app-token endpoint, behind API keys
(``lark-service apikey create``), per-key token-bucket rate limits and ``Idempotency-Key``
replays, answering one envelope. Importing this package imports no web framework; the app
itself is :func:`lark_service.gateway.app.create_gateway`.
"""

from __future__ import annotations

from ._registry import (
    GatewayBody,
    GatewayQuery,
    Operation,
    examples,
    expose,
    operations,
    register_operation,
)

__all__ = [
    "GatewayBody",
    "GatewayQuery",
    "Operation",
    "examples",
    "expose",
    "operations",
    "register_operation",
]
