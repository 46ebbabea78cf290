"""Subscribe :mod:`lark_service.metrics` when ``prometheus_client`` is installed.

Imported by :mod:`lark_service.instrumentation`. Costs one ``find_spec`` (~0.1 ms) when
``prometheus_client`` is not installed and nothing else. When it is installed:

- already imported by the application (django-prometheus, a ``/metrics`` route of its own):
  :mod:`lark_service.metrics` is imported now and its families are in the default registry;
- only installed: a one-shot subscriber imports :mod:`lark_service.metrics` on the first
  instrumentation event (``prometheus_client`` takes ~50 ms to import; a process that never
  calls Feishu or receives a callback never pays it) and hands it that first event.

``LARK_METRICS=off`` (or ``0``/``false``/``no``) leaves metrics out entirely.
"""

from __future__ import annotations

import os
import sys
import threading
from importlib.util import find_spec

from . import instrumentation

__all__ = ["install", "wanted"]

_lock = threading.Lock()


def wanted() -> bool:
    """Whether metrics should be subscribed in this process."""
    if os.environ.get("LARK_METRICS", "").strip().lower() in ("0", "off", "false", "no"):
        return False
    if "prometheus_client" in sys.modules:
        return sys.modules["prometheus_client"] is not None  # None: blocked on purpose
    try:
        return find_spec("prometheus_client") is not None
    except (ImportError, ValueError):
        return False


def _bootstrap(event: instrumentation.Event) -> None:
    instrumentation.unsubscribe(_bootstrap)
    with _lock:
        # imported before this event (by the application): it subscribed itself then, and the
        # emit that got here calls it too; imported now: this event is handed to it here
        imported_before = "lark_service.metrics" in sys.modules
        try:
            from . import metrics
        except Exception:  # a broken prometheus_client must not break a call
            return
    if not imported_before:
        metrics.METRICS(event)


def install() -> None:
    """Subscribe metrics now or on the first event (see the module docstring)."""
    if not wanted():
        return
    if sys.modules.get("prometheus_client") is not None:
        try:
            from . import metrics  # noqa: F401  (subscribes itself)
        except Exception:
            return
    else:
        instrumentation.subscribe(_bootstrap)


install()
