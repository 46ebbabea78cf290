"""Run the benchmarks: every ``benchmarks/bench_*.py`` module's ``main()``, one after another.

    python benchmarks/run_all.py                     # all of them (what `make bench` runs)
    python benchmarks/run_all.py pipeline import     # a subset, by name with or without bench_
    python benchmarks/run_all.py --quick             # short runs (also LARK_BENCH_QUICK=1)
    python benchmarks/run_all.py --write-docs        # rewrite their docs/performance.md sections
    python benchmarks/run_all.py --list              # what would run

Each module runs in a fresh interpreter (imports, global caches and environment variables of
one benchmark never leak into the next) and its ``main`` is called with the options given
here: ``main(argv)`` when it takes an argument, else ``main()`` with ``sys.argv`` set. Options
this script does not know are passed through to every module. A module that raises or returns
a non-zero status is reported, the rest still run, and the exit status says so.

Adding a benchmark: drop ``benchmarks/bench_<name>.py`` with a ``main()``; nothing else. It may
``from _harness import ...`` / ``from _server import ...`` (this folder is on ``sys.path``).
"""

from __future__ import annotations

import argparse
import inspect
import os
import subprocess
import sys
import time
from importlib import import_module
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Module names of every ``bench_*.py`` here, sorted."""
    return sorted(path.stem for path in HERE.glob("bench_*.py"))


def select(names: list[str], wanted: list[str]) -> list[str]:
    """``wanted`` (``pipeline`` or ``bench_pipeline``) resolved against ``names``, in order."""
    if not wanted:
        return names
    chosen = []
    for want in wanted:
        stem = want.removesuffix(".py")
        stem = stem if stem.startswith("bench_") else f"bench_{stem}"
        if stem not in names:
            raise SystemExit(f"no benchmark {want!r}; available: {', '.join(names) or 'none'}")
        chosen.append(stem)
    return chosen


def run_one(name: str, argv: list[str]) -> int:
    """Import ``name`` and call its ``main`` (in this process); its status as an int."""
    sys.path.insert(0, str(HERE))
    module = import_module(name)
    main = getattr(module, "main", None)
    if main is None:
        print(f"{name}: no main()", file=sys.stderr)
        return 2
    sys.argv = [str(HERE / f"{name}.py"), *argv]
    try:
        takes_args = bool(inspect.signature(main).parameters)
    except (TypeError, ValueError):
        takes_args = False
    status = main(argv) if takes_args else main()
    if status is None or status is True:
        return 0
    return int(status)


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    if args_list[:1] == ["--one"]:  # internal: run one module in this (fresh) interpreter
        return run_one(args_list[1], args_list[2:])
    parser = argparse.ArgumentParser(
        description="Run benchmarks/bench_*.py", epilog="Unknown options go to every module."
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="short runs")
    parser.add_argument(
        "--write-docs", action="store_true", help="rewrite the docs/performance.md sections"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args, passthrough = parser.parse_known_intermixed_args(args_list)
    if args.quick:
        passthrough.append("--quick")
    if args.write_docs:
        passthrough.append("--write-docs")
    names = select(discover(), args.names)
    if args.list:
        print("\n".join(names))
        return 0
    env = dict(os.environ)
    if args.quick:
        env["LARK_BENCH_QUICK"] = "1"
    failed = []
    started = time.perf_counter()
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        command = [sys.executable, str(Path(__file__).resolve()), "--one", name, *passthrough]
        status = subprocess.call(command, env=env, cwd=HERE.parent)
        print(f"=== {name}: exit {status} in {time.perf_counter() - t0:.1f} s ===", flush=True)
        if status != 0:
            failed.append(name)
    total = time.perf_counter() - started
    print(f"\n{len(names) - len(failed)} of {len(names)} benchmarks ran in {total:.0f} s", end="")
    print(f"; failed: {', '.join(failed)}" if failed else "")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
