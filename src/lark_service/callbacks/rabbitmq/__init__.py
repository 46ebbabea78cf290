"""RabbitMQ dispatch: the server publishes, ``lark-service worker`` consumes.

Split by role (the names below stay importable from here):

- :mod:`.topology` — :class:`RabbitTopology` (exchange, queue, retry queues, DLQ), routing
  keys and the message format;
- :mod:`.publisher` — :class:`RabbitDispatcher` and :class:`RabbitPublisher`: store, publish
  with confirms, relay the outbox backlog on the reconnect backoff;
- :mod:`.worker` — :class:`RabbitWorker`: run handlers, retry, dead-letter, dedup on the
  outbox id, wait for the broker at start;
- :mod:`.dlq` — :func:`dlq_list` and :func:`dlq_replay`.

Message bodies never hold the app's verification token (the verifier drops it).
"""

from __future__ import annotations

from .dlq import dlq_list, dlq_replay
from .publisher import RabbitDispatcher, RabbitPublisher
from .topology import (
    ATTEMPTS_HEADER,
    ERROR_HEADER,
    UPDATE_USES_HEADER,
    RabbitTopology,
    message_body,
    routing_key,
)
from .topology import connect as _connect  # noqa: F401  (the old private names)
from .topology import make_message as _message  # noqa: F401
from .worker import RabbitWorker

__all__ = [
    "ATTEMPTS_HEADER",
    "ERROR_HEADER",
    "UPDATE_USES_HEADER",
    "RabbitDispatcher",
    "RabbitPublisher",
    "RabbitTopology",
    "RabbitWorker",
    "dlq_list",
    "dlq_replay",
    "message_body",
    "routing_key",
]
