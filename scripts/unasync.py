"""Generate the sync twins of the async sources, or check that they have not drifted.

The async code is the one source of truth (the httpcore way). Every ``_async_*.py`` under
``src/lark_service`` has a twin ``_sync_*.py`` next to it, made by token substitution:

    python scripts/unasync.py          # (re)write the sync twins
    python scripts/unasync.py --check  # exit 1 if a twin differs from what would be generated
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "lark_service"
HEADER = "# Generated from {src} by scripts/unasync.py: edit that file instead.\n"

# Order matters: specific phrases before generic ones.
SUBS: list[tuple[str, str]] = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\baclose\b", "close"),
    (r"\baread\b", "read"),
    (r"\baiter_(bytes|text|lines|raw)\b", r"iter_\1"),
    (r"\basynccontextmanager\b", "contextmanager"),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAsyncIterable\b", "Iterable"),
    (r"\bAwaitable\[([^\]]+)\]", r"\1"),
    (r"\b_async_", "_sync_"),
    (r"\basync_(\w+)", r"\1"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\basyncio\.CancelledError\b", "KeyboardInterrupt"),
    (r"\b(a)(iter|next)\b", r"\2"),
]
_COMPILED = [(re.compile(p), r) for p, r in SUBS]


def transform(source: str) -> str:
    out = []
    for line in source.splitlines(keepends=True):
        if "# unasync: async-only" in line:
            continue
        if "# unasync: keep" in line:
            out.append(line)
            continue
        for pattern, repl in _COMPILED:
            line = pattern.sub(repl, line)
        out.append(line)
    return "".join(out)


def pairs() -> list[tuple[Path, Path]]:
    found = []
    for src in sorted(ROOT.rglob("_async_*.py")):
        dst = src.with_name(src.name.replace("_async_", "_sync_", 1))
        found.append((src, dst))
    return found


def render(src: Path) -> str:
    rel = src.relative_to(ROOT.parent.parent)
    return HEADER.format(src=rel.as_posix()) + transform(src.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    drift = []
    for src, dst in pairs():
        want = render(src)
        have = dst.read_text(encoding="utf-8") if dst.exists() else None
        if have == want:
            continue
        if check:
            drift.append(dst)
        else:
            dst.write_text(want, encoding="utf-8")
            print(f"wrote {dst.relative_to(ROOT.parent.parent)}")
    if drift:
        for dst in drift:
            print(f"drift: {dst} differs from its async source; run `make unasync`")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
