"""Loading handler routers named on the command line: ``module:attr`` or ``path.py:attr``.

As uvicorn does, the working directory is put on the import path first, so
``lark-service serve --handlers myapp.callbacks:router`` run from a project folder finds
``myapp`` without ``PYTHONPATH``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from pathlib import Path

from ..errors import ConfigError
from .router import CallbackRouter

__all__ = ["load_router", "load_routers"]


def _working_directory_importable() -> None:
    """Put the working directory at the front of ``sys.path`` (uvicorn's ``--app-dir .``)."""
    cwd = str(Path.cwd())
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
        importlib.invalidate_caches()


def load_router(spec: str) -> CallbackRouter:
    """The :class:`CallbackRouter` named by ``spec`` (``pkg.module:router`` or
    ``path/to/file.py:router``; the attribute defaults to ``router``).

    Raises :class:`~lark_service.errors.ConfigError` when it cannot be found.
    """
    target, _, attr = spec.partition(":")
    attr = attr or "router"
    if not target:
        raise ConfigError(f"bad handlers spec {spec!r}", hint="Use module:router.")
    try:
        if target.endswith(".py") or "/" in target:
            path = Path(target).resolve()
            name = f"lark_handlers_{abs(hash(str(path)))}"
            loaded = importlib.util.spec_from_file_location(name, path)
            if loaded is None or loaded.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(loaded)
            sys.modules[name] = module
            loaded.loader.exec_module(module)
        else:
            _working_directory_importable()
            module = importlib.import_module(target)
    except (ImportError, OSError) as exc:
        raise ConfigError(
            f"cannot import handlers {target!r}: {exc}",
            hint="Check the module path (and PYTHONPATH), e.g. --handlers myapp.callbacks:router.",
        ) from None
    router = getattr(module, attr, None)
    if not isinstance(router, CallbackRouter):
        raise ConfigError(f"{target}:{attr} is not a CallbackRouter")
    return router


def load_routers(specs: Iterable[str]) -> CallbackRouter:
    """One router with the routes of every spec, in order (an empty router for none)."""
    combined = CallbackRouter()
    for spec in specs:
        combined.include(load_router(spec))
    return combined
