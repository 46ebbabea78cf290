"""``GET /status``: one server-rendered HTML page for operators without Grafana.

It shows the apps and their token expiries, the callback outbox (depth by status, the oldest
pending callback, the dead-lettered count), recent API error rates by Feishu code, the
scheduler's jobs with their last run and result, and inline SVG charts of the last hour
(requests, errors, callbacks per minute). No JavaScript, no external asset; the page
refreshes itself every 30 s with a ``<meta>`` tag.

Access: without ``LARK_STATUS_TOKEN`` only loopback clients (127.0.0.1, ::1) get the page;
with it, every client must send ``Authorization: Bearer <token>`` (loopback included: a
reverse proxy on the same host would otherwise open the page to everyone).

The recent figures come from :class:`StatusRing`, an instrumentation subscriber keeping
per-minute counters for the last hour in this process (requests made here, callbacks received
here, jobs run by a scheduler in this process, e.g. ``serve --scheduler``). Fleet-wide figures
are Prometheus' job (``lark_service.metrics``).
"""

from __future__ import annotations

import asyncio
import hmac
import html
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from .. import instrumentation

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..config import Settings

__all__ = ["RING", "StatusRing", "add_status_route", "collect", "render"]

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
MINUTES = 60


@dataclass
class _Minute:
    start: float
    requests: int = 0
    errors: int = 0
    codes: Counter[str] = field(default_factory=Counter)
    callbacks: int = 0
    callbacks_failed: int = 0


@dataclass(frozen=True)
class JobRun:
    job: str
    outcome: str
    reason: str | None
    duration: float
    at: float


class StatusRing:
    """Per-minute counters of the last hour, and each scheduler job's last runs."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._minutes: deque[_Minute] = deque(maxlen=MINUTES)
        self._jobs: dict[str, JobRun] = {}
        self._job_ok: dict[str, float] = {}
        self._guard = threading.Lock()

    def _bucket(self, at: float) -> _Minute:
        start = at - at % 60
        if not self._minutes or self._minutes[-1].start < start:
            self._minutes.append(_Minute(start))
        return self._minutes[-1]

    def __call__(self, event: instrumentation.Event) -> None:
        name = event.name
        if name == "request.finished":
            with self._guard:
                minute = self._bucket(event.time or self.clock())
                minute.requests += 1
                if (event.get("outcome") or "ok") != "ok":
                    minute.errors += 1
                    code = event.get("code")
                    status = event.get("status")
                    key = str(code) if code not in (None, 0) else f"HTTP {status or '-'}"
                    minute.codes[key] += 1
        elif name in ("callback.received", "callback.failed", "callback.dead_lettered"):
            with self._guard:
                minute = self._bucket(event.time or self.clock())
                if name == "callback.received":
                    minute.callbacks += 1
                else:
                    minute.callbacks_failed += 1
        elif name == "scheduler.job_finished":
            job = str(event.get("job"))
            run = JobRun(
                job,
                str(event.get("outcome")),
                event.get("reason"),
                float(event.get("duration") or 0.0),
                event.time or self.clock(),
            )
            with self._guard:
                if run.outcome != "skipped" or job not in self._jobs:
                    self._jobs[job] = run
                if run.outcome == "ok":
                    self._job_ok[job] = run.at

    def minutes(self) -> list[_Minute]:
        """The last hour, one entry per minute, oldest first (empty minutes included)."""
        now = self.clock()
        first = now - now % 60 - (MINUTES - 1) * 60
        with self._guard:
            seen = {m.start: m for m in self._minutes}
        return [seen.get(first + i * 60) or _Minute(first + i * 60) for i in range(MINUTES)]

    def jobs(self) -> tuple[dict[str, JobRun], dict[str, float]]:
        with self._guard:
            return dict(self._jobs), dict(self._job_ok)


RING = StatusRing()
"""The process's ring (subscribed when a status route is added)."""


# -- the data --------------------------------------------------------------------------------


def collect(
    settings: Settings,
    *,
    outbox: Any = None,
    scheduler: Any = None,
    ring: StatusRing = RING,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Everything the page shows, as plain data (blocking: run it in a thread)."""
    now = clock()
    data: dict[str, Any] = {"now": now, "problems": []}
    data["apps"] = _apps(settings, now, data["problems"])
    data["outbox"] = _outbox(outbox, now, data["problems"])
    minutes = ring.minutes()
    data["minutes"] = [
        {
            "start": m.start,
            "requests": m.requests,
            "errors": m.errors,
            "callbacks": m.callbacks,
            "callbacks_failed": m.callbacks_failed,
        }
        for m in minutes
    ]
    codes: Counter[str] = Counter()
    for m in minutes:
        codes.update(m.codes)
    total = sum(m.requests for m in minutes)
    data["requests"] = total
    data["errors"] = {code: n for code, n in codes.most_common(10)}
    data["error_rate"] = (sum(m.errors for m in minutes) / total) if total else 0.0
    runs, last_ok = ring.jobs()
    upcoming = scheduler.next_runs() if scheduler is not None else {}
    names = list(getattr(scheduler, "jobs", {}) or ()) or sorted(runs)
    data["jobs"] = [
        {
            "job": name,
            "last_run": runs[name].at if name in runs else None,
            "outcome": runs[name].outcome if name in runs else None,
            "reason": runs[name].reason if name in runs else None,
            "duration": runs[name].duration if name in runs else None,
            "last_success": last_ok.get(name),
            "next_run": upcoming.get(name),
        }
        for name in names
    ]
    data["scheduler"] = scheduler is not None
    return data


def _apps(settings: Settings, now: float, problems: list[str]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    try:
        from ..scheduler.jobs import _active_apps

        for app_id in _active_apps(settings):
            found[app_id] = {
                "app_id": app_id,
                "tenant": None,
                "app": None,
                "users": 0,
                "user_refresh": None,
            }
    except Exception as exc:
        problems.append(f"app registry: {type(exc).__name__}")
    try:
        from ..credentials import open_token_store

        store = open_token_store(settings, create_home=False)
        store = getattr(store, "store", store)
        records = getattr(store, "records", None)
        if callable(records):
            for token in records():
                row = found.get(token.app_id)
                if row is None:
                    continue
                if token.kind in ("tenant", "app"):
                    current = row[token.kind]
                    row[token.kind] = max(token.expires_at, current or 0.0)
                elif token.kind == "user":
                    row["users"] += 1
                    if token.refresh_expires_at is not None:
                        soonest = row["user_refresh"]
                        row["user_refresh"] = min(
                            token.refresh_expires_at, soonest or token.refresh_expires_at
                        )
    except Exception as exc:
        problems.append(f"token store: {type(exc).__name__}")
    return list(found.values())


def _outbox(outbox: Any, now: float, problems: list[str]) -> dict[str, Any] | None:
    if outbox is None:
        return None
    try:
        counts = outbox.counts()
        pending = outbox.items("pending", limit=1)
    except Exception as exc:
        problems.append(f"state database: {type(exc).__name__}")
        return None
    oldest = pending[0].created_at if pending else None
    return {
        "counts": counts,
        "depth": counts.get("pending", 0) + counts.get("running", 0),
        "dead": counts.get("dead", 0) + counts.get("no_handler", 0),
        "oldest_pending": oldest,
        "oldest_age": (now - oldest) if oldest else None,
    }


# -- the page --------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _utc(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def _left(ts: float | None, now: float, warn: float) -> str:
    if ts is None:
        return '<span class="dim">none stored</span>'
    left = ts - now
    css = "bad" if left <= 0 else ("warn" if left < warn else "ok")
    text = "expired" if left <= 0 else f"in {_ago(left)}"
    return f'<span class="{css}" title="{_e(_utc(ts))}">{_e(text)}</span>'


def chart(values: list[int], *, label: str, colour: str, width: int = 360, height: int = 60) -> str:
    """An inline SVG bar chart of ``values`` (one bar per minute), no script."""
    top = max(values) if values else 0
    peak = top if top > 0 else 1
    bar = width / max(1, len(values))
    bars = []
    for i, value in enumerate(values):
        h = 0 if value <= 0 else max(1.0, value / peak * (height - 12))
        bars.append(
            f'<rect x="{i * bar:.1f}" y="{height - h:.1f}" width="{max(bar - 1, 1):.1f}" '
            f'height="{h:.1f}" fill="{colour}"><title>{value}</title></rect>'
        )
    return (
        f'<svg class="chart" role="img" aria-label="{_e(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'<text x="2" y="10" font-size="10" fill="#555">{_e(label)} (max {top}/min)</text>'
        + "".join(bars)
        + f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" stroke="#999"/>'
        "</svg>"
    )


_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:.3em .6em;
text-align:left}th{background:#f0f0f0}.ok{color:#1a7f37}.warn{color:#9a6700}
.bad{color:#cf222e;font-weight:600}.dim{color:#888}.charts{display:flex;gap:1em;flex-wrap:wrap}
.chart{background:#fff;border:1px solid #ddd}.problems{color:#cf222e}
"""


def render(data: Mapping[str, Any]) -> str:
    """The page's HTML (every value escaped)."""
    now = float(data["now"])
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        '<meta http-equiv="refresh" content="30">',
        "<title>lark-service status</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>lark-service status</h1>",
        f'<p class="dim">at {_e(_utc(now))}; figures of the last hour are this process\'s</p>',
    ]
    if data.get("problems"):
        parts.append(
            '<p class="problems">Not available: ' + _e("; ".join(data["problems"])) + "</p>"
        )
    # apps
    parts.append("<h2>Apps</h2>")
    apps = data.get("apps") or []
    if apps:
        parts.append(
            "<table id=apps><tr><th>app</th><th>tenant token</th><th>app token</th>"
            "<th>user tokens</th><th>soonest user refresh token</th></tr>"
        )
        for app in apps:
            parts.append(
                f"<tr><td>{_e(app['app_id'])}</td><td>{_left(app['tenant'], now, 600)}</td>"
                f"<td>{_left(app['app'], now, 600)}</td><td>{_e(app['users'])}</td>"
                f"<td>{_left(app['user_refresh'], now, 7 * 86400)}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append('<p class="dim">No active app.</p>')
    # outbox
    parts.append("<h2>Callbacks</h2>")
    outbox = data.get("outbox")
    if outbox is None:
        parts.append('<p class="dim">No outbox in this process.</p>')
    else:
        dead_css = "bad" if outbox["dead"] else "ok"
        age = outbox["oldest_age"]
        age_css = "warn" if age is not None and age > 300 else "ok"
        parts.append(
            "<table id=outbox><tr><th>outbox depth</th><th>oldest pending</th>"
            "<th>dead-lettered</th><th>by status</th></tr>"
            f"<tr><td>{_e(outbox['depth'])}</td>"
            f'<td class="{age_css}">{_e(_ago(age)) if age is not None else "-"}'
            f"{' old' if age is not None else ''}</td>"
            f'<td class="{dead_css}">{_e(outbox["dead"])}</td>'
            f"<td>{_e(', '.join(f'{k}: {v}' for k, v in sorted(outbox['counts'].items())) or '-')}"
            "</td></tr></table>"
        )
    # errors
    parts.append("<h2>Feishu API, last hour</h2>")
    rate = float(data.get("error_rate") or 0.0)
    rate_css = "bad" if rate > 0.05 else ("warn" if rate > 0.01 else "ok")
    parts.append(
        f"<p id=rate>{_e(data.get('requests', 0))} requests, error rate "
        f'<span class="{rate_css}">{rate:.1%}</span></p>'
    )
    errors = data.get("errors") or {}
    if errors:
        parts.append("<table id=errors><tr><th>code</th><th>errors</th></tr>")
        for code, count in errors.items():
            parts.append(f"<tr><td>{_e(code)}</td><td>{_e(count)}</td></tr>")
        parts.append("</table>")
    minutes = data.get("minutes") or []
    parts.append('<div class="charts">')
    parts.append(chart([m["requests"] for m in minutes], label="requests", colour="#0969da"))
    parts.append(chart([m["errors"] for m in minutes], label="errors", colour="#cf222e"))
    parts.append(chart([m["callbacks"] for m in minutes], label="callbacks", colour="#1a7f37"))
    parts.append("</div>")
    # scheduler
    parts.append("<h2>Scheduler</h2>")
    jobs = data.get("jobs") or []
    if not jobs:
        parts.append(
            '<p class="dim">No scheduler run in this process (start one with '
            "<code>lark-service serve --scheduler</code> or <code>lark-service scheduler "
            "run</code>).</p>"
        )
    else:
        parts.append(
            "<table id=jobs><tr><th>job</th><th>last run</th><th>result</th><th>took</th>"
            "<th>last success</th><th>next run</th></tr>"
        )
        for job in jobs:
            outcome = job["outcome"]
            css = {"ok": "ok", "failed": "bad", "skipped": "dim"}.get(outcome or "", "dim")
            reason = f" ({job['reason']})" if job.get("reason") else ""
            took = f"{job['duration']:.2f} s" if job["duration"] is not None else "-"
            parts.append(
                f"<tr><td>{_e(job['job'])}</td><td>{_e(_utc(job['last_run']))}</td>"
                f'<td class="{css}">{_e((outcome or "not run yet") + reason)}</td>'
                f"<td>{_e(took)}</td><td>{_e(_utc(job['last_success']))}</td>"
                f"<td>{_e(_utc(job['next_run']))}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)


# -- the route -------------------------------------------------------------------------------


def allowed(host: str | None, authorization: str | None, token: str | None) -> bool:
    """Whether a client at ``host`` sending ``authorization`` may see the page."""
    if token:
        scheme, _, given = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), token.encode()
        )
    return (host or "") in LOOPBACK


def add_status_route(
    app: FastAPI,
    *,
    settings: Settings | None = None,
    outbox: Callable[[], Any] | None = None,
    ring: StatusRing = RING,
    clock: Callable[[], float] = time.time,
) -> None:
    """Mount ``GET /status`` on ``app``. ``outbox()`` returns the handler's
    :class:`~lark_service.callbacks.store.OutboxStore` (or None); a scheduler running in the
    process is read from ``app.state.scheduler``."""
    from fastapi.responses import HTMLResponse, PlainTextResponse
    from starlette.responses import Response

    instrumentation.subscribe(ring)

    @app.get("/status", include_in_schema=False)
    async def status_page(request: Request) -> Response:
        from ..config import get_settings

        current = settings or get_settings()
        token = current.status_token.get_secret_value() if current.status_token else None
        host = request.client.host if request.client else None
        if not allowed(host, request.headers.get("authorization"), token):
            if token:
                return PlainTextResponse(
                    "send Authorization: Bearer <LARK_STATUS_TOKEN>\n",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return PlainTextResponse(
                "the status page answers loopback clients only; set LARK_STATUS_TOKEN to "
                "open it to others (with a Bearer token)\n",
                status_code=403,
            )
        data = await asyncio.to_thread(
            collect,
            current,
            outbox=outbox() if outbox is not None else None,
            scheduler=getattr(request.app.state, "scheduler", None),
            ring=ring,
            clock=clock,
        )
        return HTMLResponse(render(data), headers={"Cache-Control": "no-store"})
