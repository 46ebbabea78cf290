"""Pick a chat by name (pure): exact match preferred, ambiguity reported with candidates."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import AmbiguousChatNameError
from .models import Chat

__all__ = ["AmbiguousChatNameError", "pick_by_name"]


def pick_by_name(name: str, chats: Sequence[Chat]) -> Chat | None:
    """The chat named ``name``: the one exact match (case-sensitive, then case-insensitive),
    else the one chat whose name contains it; None if nothing matches.

    Raises :class:`AmbiguousChatNameError` for several exact matches, or several partial
    matches and no exact one.
    """
    wanted = name.strip()
    exact = [c for c in chats if (c.name or "") == wanted]
    if not exact:
        exact = [c for c in chats if (c.name or "").casefold() == wanted.casefold()]
    if len(exact) == 1:
        return exact[0]
    if len(exact) > 1:
        raise AmbiguousChatNameError(wanted, exact, exact=True)
    partial = [c for c in chats if wanted.casefold() in (c.name or "").casefold()]
    if len(partial) > 1:
        raise AmbiguousChatNameError(wanted, partial, exact=False)
    return partial[0] if partial else None
