"""Fault injection: make the next N matching OpenAPI calls slow, fail, hang or drop.

A fault matches a call by path (exact, or an ``fnmatch`` glob where ``*`` also crosses ``/``:
``/open-apis/im/v1/*``) and optionally by method. Each matching call uses up one of its
``count`` (``None`` = until cleared); a used-up fault disappears. Per call, every matching
``latency`` fault adds its delay, then the oldest matching fault of any other kind decides
the answer.

| kind | params | what the client sees |
| --- | --- | --- |
| ``latency`` | ``ms`` | the normal answer, ``ms`` milliseconds late |
| ``status`` | ``status`` (502), ``body`` (str or JSON object), ``headers`` | an HTTP error page |
| ``code`` | ``code``, ``msg``, ``http_status`` (400) | a Feishu error envelope |
| ``timeout`` | ``max_seconds`` (60) | nothing, until it gives up (then a 504) |
| ``reset`` | – | the connection closed without any response |
| ``rate_limit`` | ``reset`` (1), ``limit`` (50), | 99991400 and the headers |
| | ``http_status`` (429) | ``x-ogw-ratelimit-limit/-reset`` |
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "FaultSet"]

FAULT_KINDS = ("latency", "status", "code", "timeout", "reset", "rate_limit")

_PARAMS: dict[str, frozenset[str]] = {
    "latency": frozenset({"ms"}),
    "status": frozenset({"status", "body", "headers"}),
    "code": frozenset({"code", "msg", "http_status"}),
    "timeout": frozenset({"max_seconds"}),
    "reset": frozenset(),
    "rate_limit": frozenset({"reset", "limit", "http_status"}),
}


@dataclass
class Fault:
    """One injected fault; ``remaining`` counts down per matching call (``None``: forever)."""

    id: str
    path: str
    kind: str
    method: str | None = None
    remaining: int | None = 1
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        """Whether a ``method`` call to ``path`` triggers this fault."""
        if self.method is not None and self.method != method.upper():
            return False
        return path == self.path or fnmatchcase(path, self.path)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form, as the control API lists it."""
        return {
            "id": self.id,
            "path": self.path,
            "kind": self.kind,
            "method": self.method,
            "count": self.remaining,
            **self.params,
        }


def _validate(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    if kind not in _PARAMS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
    unknown = set(params) - _PARAMS[kind]
    if unknown:
        allowed = ", ".join(sorted(_PARAMS[kind])) or "none"
        raise ValueError(
            f"unknown parameter(s) {', '.join(sorted(unknown))} for a {kind!r} fault "
            f"(allowed: {allowed})"
        )
    p = dict(params)
    if kind == "latency":
        if "ms" not in p:
            raise ValueError("a 'latency' fault needs ms=<milliseconds>")
        p["ms"] = float(p["ms"])
    elif kind == "status":
        p["status"] = int(p.get("status", 502))
        if not 100 <= p["status"] <= 599:
            raise ValueError(f"status must be an HTTP status code, got {p['status']}")
        if not isinstance(p.get("body", ""), (str, dict, list)):
            raise ValueError("a 'status' fault body must be a string or a JSON object")
        p["headers"] = {str(k): str(v) for k, v in dict(p.get("headers") or {}).items()}
    elif kind == "code":
        if "code" not in p:
            raise ValueError("a 'code' fault needs code=<Feishu error code>")
        p["code"] = int(p["code"])
        p["http_status"] = int(p.get("http_status", 400))
        p["msg"] = str(p.get("msg", f"injected error {p['code']}"))
    elif kind == "timeout":
        p["max_seconds"] = float(p.get("max_seconds", 60.0))
    elif kind == "rate_limit":
        p["reset"] = int(p.get("reset", 1))
        p["limit"] = str(p.get("limit", 50))
        p["http_status"] = int(p.get("http_status", 429))
    return p


class FaultSet:
    """The injected faults, safe to use from the server thread and the test thread at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)

    def add(
        self,
        path: str,
        kind: str,
        *,
        count: int | None = 1,
        method: str | None = None,
        **params: Any,
    ) -> Fault:
        """Inject a fault for the next ``count`` calls matching ``path`` (and ``method``)."""
        if not path.startswith("/"):
            raise ValueError(f"fault path must start with '/', got {path!r}")
        if count is not None and count < 1:
            raise ValueError(f"count must be >= 1 (or None for 'until cleared'), got {count}")
        fault = Fault(
            id=f"fault-{next(self._ids)}",
            path=path,
            kind=kind,
            method=method.upper() if method else None,
            remaining=count,
            params=_validate(kind, params),
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> tuple[float, Fault | None]:
        """Use up the faults a call triggers: (total latency in ms, the deciding fault)."""
        latency_ms = 0.0
        decisive: Fault | None = None
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(method, path):
                    continue
                if fault.kind == "latency":
                    latency_ms += float(fault.params["ms"])
                elif decisive is None:
                    decisive = fault
                else:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
        return latency_ms, decisive

    def list(self) -> list[Fault]:
        """The faults still armed, oldest first."""
        with self._lock:
            return [replace(f, params=dict(f.params)) for f in self._faults]

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()
