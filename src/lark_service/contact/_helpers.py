"""Pure pieces of the contact domain, written once and shared by the async and sync twins:
parsing Feishu's answers, naming what a batch call is about, masking emails and mobiles for
logs, assembling a department tree, and reporting cache hits and misses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from .. import errors, instrumentation
from .._http import ApiResponse
from ._ids import (
    BATCH_SIZE,
    DepartmentIdType,
    LookupField,
    normalize_email,
    normalize_mobile,
)
from .models import Department, User

__all__ = [
    "BIG_DEPARTMENT_CODE",
    "ProgressCallback",
    "assemble_tree",
    "batch_label",
    "check_batch",
    "department_key",
    "mask",
    "normalized",
    "open_ids_of",
    "parse_department",
    "parse_user",
    "report_lookups",
    "with_key",
]

ProgressCallback = Callable[[int, int | None], None]
"""``on_progress(users_so_far, expected_total_or_None)``."""

BIG_DEPARTMENT_CODE = 43010
"""Feishu refuses ``fetch_child=true`` on a department too large to list recursively."""

CACHE_NAME = "contact"
NEGATIVE_CACHE_NAME = "contact.negative"


def parse_user(response: ApiResponse, data: Any) -> User:
    """A :class:`User` from one item of Feishu's answer; ServerError without an open_id."""
    if not isinstance(data, Mapping) or not data.get("open_id"):
        raise errors.ServerError(
            "Feishu answered a user without an open_id",
            request_id=response.request_id,
            log_id=response.log_id,
            http_status=response.http_status,
        )
    return User.from_response(response, dict(data))


def parse_department(response: ApiResponse, data: Any) -> Department:
    """A :class:`Department` from one item of Feishu's answer."""
    return Department.from_response(response, dict(data) if isinstance(data, Mapping) else {})


def with_key(user: User, kind: LookupField, value: str) -> User:
    """``user`` with ``kind`` set to ``value`` when Feishu left it out (the id or address it
    was asked by is known even without the field's scope)."""
    if getattr(user, kind):
        return user
    return user.model_copy(update={kind: value})


def open_ids_of(data: Mapping[str, Any], kind: Literal["email", "mobile"]) -> dict[str, str]:
    """``batch_get_id``'s answer as ``{normalized email or mobile: open_id}`` (people Feishu
    does not know, or may not show, come without an id and are left out)."""
    found: dict[str, str] = {}
    for item in data.get("user_list") or []:
        if not isinstance(item, Mapping):
            continue
        open_id, given = item.get("user_id"), item.get(kind)
        if isinstance(open_id, str) and open_id and isinstance(given, str):
            found[_lenient(kind, given)] = open_id
    return found


def batch_label(values: Sequence[str]) -> str:
    """What an error about a batch names: the first value, and how many more."""
    if len(values) == 1:
        return values[0]
    return f"{values[0]} (+{len(values) - 1} more)"


def check_batch(values: Sequence[str], field: str) -> None:
    """ValidationError unless ``values`` holds 1 to :data:`BATCH_SIZE` (50) values."""
    if not values or len(values) > BATCH_SIZE:
        raise errors.ValidationError(
            f"{field}: 1 to {BATCH_SIZE} values per request, not {len(values)}", field=field
        )


def department_key(department: Department, id_type: DepartmentIdType) -> str:
    """The department's id of ``id_type`` ("" when Feishu did not send it)."""
    if id_type == "department_id":
        return department.department_id or ""
    return department.open_department_id or ""


def assemble_tree(
    top: Department, asked_as: str, id_type: DepartmentIdType, descendants: list[Department]
) -> Department:
    """``top`` with ``descendants`` nested under their parents in ``children``, each level
    sorted by (order, name). A descendant whose parent is unknown hangs under ``top``."""
    nodes = {department_key(d, id_type): d for d in descendants}
    top_keys = {asked_as, department_key(top, id_type)}
    for node in descendants:
        parent_key = node.parent_department_id or ""
        parent = top if parent_key in top_keys else nodes.get(parent_key, top)
        parent.children.append(node)
    for node in [top, *descendants]:
        node.children.sort(key=lambda d: (d.order or 0, d.name or ""))
    return top


def normalized(
    values: Iterable[str], normalize: Callable[[str], str], field: str
) -> dict[str, str]:
    """``{value as given: normalized value}``; ValidationError for one string or a bad value."""
    if isinstance(values, str | bytes):
        raise errors.ValidationError(
            f"{field} must be a list of strings, not one string", field=field
        )
    if not isinstance(values, Iterable):
        raise errors.ValidationError(
            f"{field} must be a list of strings, not {type(values).__name__}", field=field
        )
    found: dict[str, str] = {}
    for value in values:
        if not isinstance(value, str):
            raise errors.ValidationError(
                f"{field} must hold strings, not {type(value).__name__}", field=field
            )
        found[value] = normalize(value)
    return found


def mask(kind: Literal["email", "mobile"], value: str) -> str:
    """An email or mobile shortened for logs: ``al***@example.com``, ``+86138****0001``."""
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:2]}***@{domain}"
    return value[:6] + "****" + value[-4:] if len(value) > 10 else value[:3] + "****"


def report_lookups(
    app_id: str, field: LookupField, *, hits: int, negative_hits: int = 0, misses: int
) -> None:
    """One instrumentation event per value looked up in the cache: ``cache.hit`` (``cache``
    ``"contact"``; ``"contact.negative"`` when the negative cache answered) or ``cache.miss``
    (``cache`` ``"contact"``: the value goes to Feishu)."""
    if not instrumentation.enabled():
        return
    emit = instrumentation.emit
    for _ in range(hits):
        emit("cache.hit", app_id, cache=CACHE_NAME, field=field)
    for _ in range(negative_hits):
        emit("cache.hit", app_id, cache=NEGATIVE_CACHE_NAME, field=field)
    for _ in range(misses):
        emit("cache.miss", app_id, cache=CACHE_NAME, field=field)


def _lenient(kind: Literal["email", "mobile"], value: str) -> str:
    try:
        return normalize_email(value) if kind == "email" else normalize_mobile(value)
    except errors.ValidationError:
        return value
