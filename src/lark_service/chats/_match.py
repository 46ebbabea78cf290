"""Pick a chat by name (pure): exact match preferred, ambiguity reported with candidates."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ValidationError
from .models import Chat

__all__ = ["AmbiguousChatNameError", "pick_by_name"]


class AmbiguousChatNameError(ValidationError):
    """Several chats match a name: pass a more exact name or the ``chat_id``.

    A :class:`~lark_service.errors.ValidationError` because the *input* is ambiguous (the
    caller fixes it; retrying cannot help), unlike ``ConflictError``, which means a state
    conflict worth retrying. ``candidates`` holds the matching chats; the message lists them.
    """

    def __init__(self, name: str, candidates: Sequence[Chat], *, exact: bool) -> None:
        self.name = name
        self.candidates = list(candidates)
        kind = "chats are named exactly" if exact else "chats have names containing"
        listed = "; ".join(f"{c.chat_id} {c.name!r}" for c in self.candidates[:20])
        more = f" (+{len(self.candidates) - 20} more)" if len(self.candidates) > 20 else ""
        super().__init__(
            f"{len(self.candidates)} {kind} {name!r}: {listed}{more}",
            field="name",
            hint="Use the chat_id (client.chats.get_chat) or a more exact name.",
        )


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
