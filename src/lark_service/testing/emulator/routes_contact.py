"""Contact v3: users, departments, and the emulated tenant's directory.

Endpoints (``openapi-reference.md`` §9): ``POST users/batch_get_id``, ``GET users/:user_id``,
``GET users/batch``, ``GET users/find_by_department``, ``GET departments/:department_id`` and
``GET departments/:department_id/children``, all under ``/open-apis/contact/v3/``, with
paging (``page_size`` / ``page_token`` / ``has_more``) and Feishu's error codes:

- 40001 invalid parameter, 40011 bad ``page_size`` (1-50), 40012 bad ``page_token``;
- 40004 department outside the app's contacts data range, 41050 user outside it
  (:meth:`EmulatorState.set_contact_range`); ``batch_get_id`` answers such users, like unknown
  and resigned ones, without an id;
- 40015 unknown department (a deleted one is answered with ``status.is_deleted``);
- 43010 ``children?fetch_child=true`` of a department with more sub-departments (at any
  depth) than the recursion limit (:func:`set_recursion_limit`; off by default): Feishu
  refuses to walk a very big department recursively;
- 99992351 / 99992352 / 99992353 unknown open_id / user_id / union_id;
- 99991672 a scope withdrawn with :meth:`EmulatorState.deny_scopes`, listed in
  ``error.permission_violations``.

Users carry their profile in ``User.attrs``: ``department_ids`` (custom department ids; none
means the root), ``en_name``, ``job_title``, ``employee_no``, ``resigned``, ``leader_user_id``.
The control API gains ``/_emulator/departments``, ``/_emulator/contact_range``,
``/_emulator/scopes/deny`` and ``/_emulator/directory/seed``; :func:`seed_directory` makes a
synthetic organisation.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .api import Caller, FeishuError, authenticate, ok, read_json
from .state import ROOT_DEPARTMENT_ID, Department, EmulatorState, User

__all__ = [
    "CONTACT_SCOPES",
    "ContactSettings",
    "contact_settings",
    "department_data",
    "page_slice",
    "require_scope",
    "routes",
    "seed_directory",
    "set_recursion_limit",
    "user_data",
]

T = TypeVar("T")

PREFIX = "/open-apis/contact/v3"
BATCH_LIMIT = 50
"""At most this many emails, mobiles or user_ids per batch call."""

CONTACT_SCOPES = {
    "user_id": ("contact:user.id:readonly", "contact:contact:readonly_as_app"),
    "user": ("contact:user.base:readonly", "contact:contact:readonly_as_app"),
    "department": ("contact:department.base:readonly", "contact:contact:readonly_as_app"),
}
"""Scopes each kind of contact call needs (any one of them is enough)."""

USER_ID_TYPES = ("open_id", "union_id", "user_id")
DEPARTMENT_ID_TYPES = ("open_department_id", "department_id")
_UNKNOWN_USER = {
    "open_id": (99992351, "open_id not exist"),
    "user_id": (99992352, "user_id not exist"),
    "union_id": (99992353, "union_id not exist"),
}
_TRUE = ("true", "1", "yes")


class ContactSettings:
    """Contact behaviour a test may tune (kept in ``EmulatorState.domain("contact")``)."""

    def __init__(self) -> None:
        self.recursion_limit: int | None = None
        """Most sub-departments a ``fetch_child=true`` walk may cover (``None``: no limit)."""


def contact_settings(target: Any) -> ContactSettings:
    """The contact settings of an :class:`EmulatorState` or an ``Emulator`` (``.state``)."""
    state: EmulatorState = getattr(target, "state", target)
    return state.domain("contact", ContactSettings)


def set_recursion_limit(target: Any, limit: int | None) -> None:
    """Departments with more than ``limit`` sub-departments (at any depth) answer 43010 to a
    recursive ``children`` call (``fetch_child=true``), as Feishu's big departments do;
    ``None`` lifts the limit."""
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise ValueError(f"limit must be a non-negative int or None, got {limit!r}")
    contact_settings(target).recursion_limit = limit


# -- helpers shared with routes_chats -------------------------------------------------------


def require_scope(state: EmulatorState, caller: Caller, any_of: Sequence[str]) -> None:
    """99991672 naming ``any_of`` when every one of those scopes was withdrawn from the app."""
    denied = state.denied_scopes(caller.app_id)
    if not any_of or not all(scope in denied for scope in any_of):
        return
    listed = ", ".join(any_of)
    raise FeishuError(
        99991672,
        f"Access denied. One of the following scopes is required: [{listed}].",
        error={
            "permission_violations": [
                {
                    "type": "action_privilege_required",
                    "subject": scope,
                    "description": "The app has not been granted this scope.",
                }
                for scope in any_of
            ],
            "helps": [
                {
                    "url": "https://open.feishu.cn/app/" + caller.app_id + "/auth",
                    "description": "Enable the scope for the app and publish a version.",
                }
            ],
        },
    )


def _encode_token(offset: int, tag: str) -> str:
    raw = json.dumps({"o": offset, "t": tag}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, tag: str) -> int | None:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("t") != tag:
        return None
    offset = data.get("o")
    return offset if isinstance(offset, int) and offset >= 0 else None


def page_slice(
    request: Request,
    items: Sequence[T],
    *,
    tag: str,
    default_size: int,
    max_size: int,
    bad_size: FeishuError,
    bad_token: FeishuError,
) -> tuple[list[T], dict[str, Any]]:
    """One page of ``items`` by ``page_size`` / ``page_token``, and the paging fields
    (``has_more``, ``page_token``) to put in the answer. ``tag`` ties tokens to one listing."""
    raw_size = request.query_params.get("page_size")
    size = default_size
    if raw_size not in (None, ""):
        try:
            size = int(raw_size)
        except ValueError:
            raise bad_size from None
        if not 1 <= size <= max_size:
            raise bad_size
    offset = 0
    token = request.query_params.get("page_token")
    if token:
        decoded = _decode_token(token, tag)
        if decoded is None:
            raise bad_token
        offset = decoded
    chunk = list(items[offset : offset + size])
    has_more = offset + size < len(items)
    paging: dict[str, Any] = {"has_more": has_more}
    paging["page_token"] = _encode_token(offset + size, tag) if has_more else ""
    return chunk, paging


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in _TRUE


def _param_error(detail: str) -> FeishuError:
    return FeishuError(40001, f"param error: {detail}")


def _id_type(request: Request) -> str:
    value = request.query_params.get("user_id_type") or "open_id"
    if value not in USER_ID_TYPES:
        raise _param_error(f"user_id_type must be one of {', '.join(USER_ID_TYPES)}")
    return value


def _department_id_type(request: Request) -> str:
    value = request.query_params.get("department_id_type") or "open_department_id"
    if value not in DEPARTMENT_ID_TYPES:
        raise _param_error(f"department_id_type must be one of {', '.join(DEPARTMENT_ID_TYPES)}")
    return value


# -- serialisation --------------------------------------------------------------------------


def _user_ref(state: EmulatorState, user_id: str | None, app_id: str, id_type: str) -> str:
    """``user_id`` (a stored user's user_id) as ``id_type`` sees it."""
    if not user_id:
        return ""
    user = state.get_user(user_id)
    if user is None:
        return user_id
    if id_type == "open_id":
        return user.open_id_for(app_id)
    return user.union_id if id_type == "union_id" else user.user_id


def _department_ref(state: EmulatorState, department_id: str, id_type: str) -> str:
    if department_id == ROOT_DEPARTMENT_ID or id_type == "department_id":
        return department_id
    department = state.get_department(department_id)
    return department.open_department_id if department else department_id


def user_data(
    state: EmulatorState,
    user: User,
    app_id: str,
    *,
    user_id_type: str = "open_id",
    department_id_type: str = "open_department_id",
) -> dict[str, Any]:
    """A stored user as Feishu's contact ``User`` object, as ``app_id`` sees it."""
    attrs = user.attrs
    resigned = bool(attrs.get("resigned", False))
    departments = state.user_department_ids(user) or [ROOT_DEPARTMENT_ID]
    base = f"https://emulator.invalid/avatar/{user.union_id}"
    data: dict[str, Any] = {
        "union_id": user.union_id,
        "user_id": user.user_id,
        "open_id": user.open_id_for(app_id),
        "name": user.name,
        "en_name": str(attrs.get("en_name", "")),
        "nickname": str(attrs.get("nickname", "")),
        "mobile_visible": True,
        "gender": int(attrs.get("gender", 0)),
        "avatar": {
            "avatar_72": base + "/72",
            "avatar_240": base + "/240",
            "avatar_640": base + "/640",
            "avatar_origin": base + "/origin",
        },
        "status": {
            "is_frozen": bool(attrs.get("frozen", False)),
            "is_resigned": resigned,
            "is_activated": not resigned,
            "is_exited": resigned,
            "is_unjoin": False,
        },
        "department_ids": [_department_ref(state, d, department_id_type) for d in departments],
        "city": str(attrs.get("city", "")),
        "country": str(attrs.get("country", "")),
        "work_station": "",
        "join_time": int(attrs.get("join_time", 1_600_000_000)),
        "is_tenant_manager": bool(attrs.get("is_tenant_manager", False)),
        "employee_no": str(attrs.get("employee_no", "")),
        "employee_type": int(attrs.get("employee_type", 1)),
        "job_title": str(attrs.get("job_title", "")),
        "time_zone": str(attrs.get("time_zone", "Asia/Shanghai")),
    }
    if user.email:
        data["email"] = user.email
    if user.mobile:
        data["mobile"] = user.mobile
    leader = attrs.get("leader_user_id")
    if leader:
        data["leader_user_id"] = _user_ref(state, str(leader), app_id, user_id_type)
    return data


def _members(state: EmulatorState, department_id: str, *, recursive: bool) -> list[User]:
    """Active users directly in (or, ``recursive``, anywhere under) a department."""
    found: list[User] = []
    for user in state.users():
        if user.attrs.get("resigned"):
            continue
        mine = state.user_department_ids(user)
        if department_id == ROOT_DEPARTMENT_ID:
            hit = recursive or not mine or ROOT_DEPARTMENT_ID in mine
        elif recursive:
            hit = any(department_id in state.department_ancestors(d) for d in mine)
        else:
            hit = department_id in mine
        if hit:
            found.append(user)
    return found


def department_data(
    state: EmulatorState,
    department: Department,
    app_id: str,
    *,
    user_id_type: str = "open_id",
    department_id_type: str = "open_department_id",
) -> dict[str, Any]:
    """A stored department as Feishu's contact ``Department`` object."""
    data: dict[str, Any] = {
        "name": department.name,
        "i18n_name": {"zh_cn": department.name, "ja_jp": "", "en_us": ""},
        "parent_department_id": _department_ref(
            state, department.parent_department_id, department_id_type
        ),
        "department_id": department.department_id,
        "open_department_id": department.open_department_id,
        "order": str(department.order),
        "unit_ids": [],
        "member_count": len(_members(state, department.department_id, recursive=True)),
        "primary_member_count": len(_members(state, department.department_id, recursive=False)),
        "status": {"is_deleted": department.deleted},
    }
    if department.leader_user_id:
        data["leader_user_id"] = _user_ref(state, department.leader_user_id, app_id, user_id_type)
    if department.chat_id:
        data["chat_id"] = department.chat_id
    return data


def _root_data(state: EmulatorState, app_id: str) -> dict[str, Any]:
    app = state.get_app(app_id)
    name = (app.name if app and app.name else None) or "Emulated Tenant"
    return {
        "name": name,
        "i18n_name": {"zh_cn": name, "ja_jp": "", "en_us": ""},
        "parent_department_id": "",
        "department_id": ROOT_DEPARTMENT_ID,
        "open_department_id": ROOT_DEPARTMENT_ID,
        "order": "0",
        "unit_ids": [],
        "member_count": len(_members(state, ROOT_DEPARTMENT_ID, recursive=True)),
        "primary_member_count": len(_members(state, ROOT_DEPARTMENT_ID, recursive=False)),
        "status": {"is_deleted": False},
    }


# -- lookups with Feishu's errors -------------------------------------------------------------


def _department(
    state: EmulatorState, caller: Caller, raw_id: str, id_type: str
) -> Department | None:
    """The department (None: the root) the app may read, or the Feishu error."""
    if raw_id == ROOT_DEPARTMENT_ID:
        if not state.department_in_contact_range(caller.app_id, ROOT_DEPARTMENT_ID):
            raise _no_department_authority(raw_id)
        return None
    department = state.get_department(raw_id)
    if department is not None:
        matches = (
            department.open_department_id == raw_id
            if id_type == "open_department_id"
            else department.department_id == raw_id
        )
        if not matches:
            department = None
    if department is None:
        raise FeishuError(40015, "department not exist")
    if not state.department_in_contact_range(caller.app_id, department.department_id):
        raise _no_department_authority(raw_id)
    return department


def _no_department_authority(raw_id: str) -> FeishuError:
    return FeishuError(
        40004,
        f"no dept authority error: department {raw_id} is outside the app's contacts range",
        http_status=403,
    )


def _no_user_authority(raw_id: str) -> FeishuError:
    return FeishuError(
        41050,
        f"no user authority error: user {raw_id} is outside the app's contacts range",
        http_status=403,
    )


def _user(state: EmulatorState, caller: Caller, raw_id: str, id_type: str) -> User:
    user = state.find_user(id_type, raw_id, caller.app_id)
    if user is None:
        if id_type == "open_id" and state.is_foreign_open_id(raw_id, caller.app_id):
            raise FeishuError(99992361, "open_id cross app")
        code, msg = _UNKNOWN_USER[id_type]
        raise FeishuError(code, msg)
    if not state.user_in_contact_range(caller.app_id, user):
        raise _no_user_authority(raw_id)
    return user


def _normal_mobile(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit() or ch == "+")
    if not digits.startswith("+") and len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return digits


def _find_by(state: EmulatorState, kind: str, value: str) -> User | None:
    """The user with this email (any case) or mobile (``+86`` optional for China)."""
    exact = value.strip().lower() if kind == "email" else _normal_mobile(value)
    for candidate in dict.fromkeys((value, exact)):
        found = state.find_user(kind, candidate, "")  # exact: a scan without copies
        if found is not None:
            return found
    for user in state.users():
        if kind == "email" and user.email and user.email.lower() == value.strip().lower():
            return user
        if (
            kind == "mobile"
            and user.mobile
            and _normal_mobile(user.mobile) == _normal_mobile(value)
        ):
            return user
    return None


def _strings(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _param_error(f"{key} must be a list of strings")
    if len(value) > BATCH_LIMIT:
        raise _param_error(f"at most {BATCH_LIMIT} {key} per request")
    return list(value)


# -- routes ---------------------------------------------------------------------------------


def routes(state: EmulatorState) -> list[BaseRoute]:
    """Contact v3 endpoints and the directory's control endpoints."""

    def bad_size() -> FeishuError:
        return FeishuError(40011, "page size is invalid: page_size must be between 1 and 50")

    def bad_token() -> FeishuError:
        return FeishuError(40012, "page token is invalid")

    async def batch_get_id(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant",))
        require_scope(state, caller, CONTACT_SCOPES["user_id"])
        id_type = _id_type(request)
        body = await read_json(request, code=40001, msg="param error")
        emails = _strings(body, "emails")
        mobiles = _strings(body, "mobiles")
        if not emails and not mobiles:
            raise _param_error("emails or mobiles is required")
        include_resigned = bool(body.get("include_resigned", False))
        user_list: list[dict[str, Any]] = []
        with state.lock:
            for kind, values in (("email", emails), ("mobile", mobiles)):
                for value in values:
                    entry: dict[str, Any] = {kind: value}
                    user = _find_by(state, kind, value)
                    visible = (
                        user is not None
                        and state.user_in_contact_range(caller.app_id, user)
                        and (include_resigned or not user.attrs.get("resigned"))
                    )
                    if user is not None and visible:
                        entry["user_id"] = _user_ref(state, user.user_id, caller.app_id, id_type)
                        resigned = bool(user.attrs.get("resigned", False))
                        entry["status"] = {
                            "is_frozen": False,
                            "is_resigned": resigned,
                            "is_activated": not resigned,
                            "is_exited": resigned,
                            "is_unjoin": False,
                        }
                    user_list.append(entry)
        return ok({"user_list": user_list})

    async def get_user(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant", "user"))
        require_scope(state, caller, CONTACT_SCOPES["user"])
        id_type = _id_type(request)
        dept_type = _department_id_type(request)
        with state.lock:
            user = _user(state, caller, request.path_params["user_id"], id_type)
            data = user_data(
                state, user, caller.app_id, user_id_type=id_type, department_id_type=dept_type
            )
        return ok({"user": data})

    async def batch_users(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant", "user"))
        require_scope(state, caller, CONTACT_SCOPES["user"])
        id_type = _id_type(request)
        dept_type = _department_id_type(request)
        ids = request.query_params.getlist("user_ids")
        if not ids:
            raise _param_error("user_ids is required")
        if len(ids) > BATCH_LIMIT:
            raise _param_error(f"at most {BATCH_LIMIT} user_ids per request")
        items: list[dict[str, Any]] = []
        with state.lock:
            for raw_id in ids:
                user = state.find_user(id_type, raw_id, caller.app_id)
                if user is None:
                    continue
                if not state.user_in_contact_range(caller.app_id, user):
                    raise _no_user_authority(raw_id)
                items.append(
                    user_data(
                        state,
                        user,
                        caller.app_id,
                        user_id_type=id_type,
                        department_id_type=dept_type,
                    )
                )
        return ok({"items": items})

    async def find_by_department(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant", "user"))
        require_scope(state, caller, CONTACT_SCOPES["user"])
        id_type = _id_type(request)
        dept_type = _department_id_type(request)
        raw_id = request.query_params.get("department_id")
        if not raw_id:
            raise _param_error("department_id is required")
        with state.lock:
            department = _department(state, caller, raw_id, dept_type)
            if department is not None and department.deleted:
                raise FeishuError(40015, "department not exist")
            custom = department.department_id if department else ROOT_DEPARTMENT_ID
            members = _members(state, custom, recursive=False)
            chunk, paging = page_slice(
                request,
                members,
                tag=f"fbd:{custom}",
                default_size=10,
                max_size=50,
                bad_size=bad_size(),
                bad_token=bad_token(),
            )
            items = [
                user_data(
                    state, u, caller.app_id, user_id_type=id_type, department_id_type=dept_type
                )
                for u in chunk
            ]
        return ok({"items": items, **paging})

    async def get_department(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant", "user"))
        require_scope(state, caller, CONTACT_SCOPES["department"])
        id_type = _id_type(request)
        dept_type = _department_id_type(request)
        with state.lock:
            department = _department(state, caller, request.path_params["department_id"], dept_type)
            if department is None:
                data = _root_data(state, caller.app_id)
            else:
                data = department_data(
                    state,
                    department,
                    caller.app_id,
                    user_id_type=id_type,
                    department_id_type=dept_type,
                )
        return ok({"department": data})

    async def children(request: Request) -> Response:
        caller = authenticate(request, state, kinds=("tenant", "user"))
        require_scope(state, caller, CONTACT_SCOPES["department"])
        id_type = _id_type(request)
        dept_type = _department_id_type(request)
        raw_id = request.path_params["department_id"]
        recursive = _flag(request, "fetch_child")
        with state.lock:
            parent = _department(state, caller, raw_id, dept_type)
            if parent is not None and parent.deleted:
                raise FeishuError(40015, "department not exist")
            custom = parent.department_id if parent else ROOT_DEPARTMENT_ID

            def under(d: Department) -> bool:
                if not recursive:
                    return d.parent_department_id == custom
                if custom == ROOT_DEPARTMENT_ID:
                    return True
                return custom in state.department_ancestors(d.parent_department_id)

            below = [d for d in state.departments() if not d.deleted and under(d)]
            limit = contact_settings(state).recursion_limit
            if recursive and limit is not None and len(below) > limit:
                raise FeishuError(43010, "big dept forbid recursion error")
            found = [
                d
                for d in below
                if state.department_in_contact_range(caller.app_id, d.department_id)
            ]
            # parents before their children, then Feishu's order
            found.sort(
                key=lambda d: (
                    len(state.department_ancestors(d.department_id)),
                    d.order,
                    d.department_id,
                )
            )
            chunk, paging = page_slice(
                request,
                found,
                tag=f"children:{custom}:{int(recursive)}",
                default_size=10,
                max_size=50,
                bad_size=bad_size(),
                bad_token=bad_token(),
            )
            items = [
                department_data(
                    state, d, caller.app_id, user_id_type=id_type, department_id_type=dept_type
                )
                for d in chunk
            ]
        return ok({"items": items, **paging})

    return [
        Route(PREFIX + "/users/batch_get_id", batch_get_id, methods=["POST"]),
        Route(PREFIX + "/users/batch", batch_users, methods=["GET"]),
        Route(PREFIX + "/users/find_by_department", find_by_department, methods=["GET"]),
        Route(PREFIX + "/users/{user_id}", get_user, methods=["GET"]),
        Route(PREFIX + "/departments/{department_id}/children", children, methods=["GET"]),
        Route(PREFIX + "/departments/{department_id}", get_department, methods=["GET"]),
        *_control_routes(state),
    ]


# -- control endpoints and the synthetic directory ------------------------------------------

Handler = Callable[[Request], Awaitable[Response]]


def _guard(handler: Handler) -> Handler:
    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except (ValueError, TypeError, KeyError) as exc:
            message = f"missing or unknown {exc}" if isinstance(exc, KeyError) else str(exc)
            return JSONResponse({"error": message}, status_code=400)

    return guarded


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"request body is not valid JSON: {exc}") from None


def _control_routes(state: EmulatorState) -> list[BaseRoute]:
    async def departments(request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request)
            items = body if isinstance(body, list) else [body]
            if not all(isinstance(i, dict) for i in items):
                raise ValueError("expected a JSON object or a list of objects")
            added = [state.add_department(**item).to_dict() for item in items]
            return JSONResponse(added if isinstance(body, list) else added[0])
        return JSONResponse({"items": [d.to_dict() for d in state.departments()]})

    async def delete_department(request: Request) -> Response:
        return JSONResponse(state.delete_department(request.path_params["department_id"]).to_dict())

    async def contact_range(request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict) or not body.get("app_id"):
            raise ValueError("body needs 'app_id' (and 'departments' / 'users' lists)")
        state.set_contact_range(
            str(body["app_id"]), departments=body.get("departments"), users=body.get("users")
        )
        return JSONResponse({"ok": True})

    async def deny_scopes(request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict) or not body.get("app_id"):
            raise ValueError("body needs 'app_id' and 'scopes'")
        scopes = body.get("scopes") or []
        if body.get("grant"):
            state.grant_scopes(str(body["app_id"]), *scopes)
        else:
            state.deny_scopes(str(body["app_id"]), *scopes)
        return JSONResponse({"denied": sorted(state.denied_scopes(str(body["app_id"])))})

    async def dissolve(request: Request) -> Response:
        return JSONResponse(state.dissolve_chat(request.path_params["chat_id"]).to_dict())

    async def recursion_limit(request: Request) -> Response:
        if request.method == "POST":
            body = await _json(request)
            if not isinstance(body, dict) or "limit" not in body:
                raise ValueError('body needs "limit" (an int, or null for none)')
            set_recursion_limit(state, body["limit"])
        return JSONResponse({"limit": contact_settings(state).recursion_limit})

    async def seed(request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        return JSONResponse(seed_directory(state, **body))

    table: list[tuple[str, Handler, list[str]]] = [
        ("/departments", departments, ["GET", "POST"]),
        ("/departments/{department_id}/delete", delete_department, ["POST"]),
        ("/contact_range", contact_range, ["POST"]),
        ("/scopes/deny", deny_scopes, ["POST"]),
        ("/chats/{chat_id}/dissolve", dissolve, ["POST"]),
        ("/directory/seed", seed, ["POST"]),
        ("/contact/recursion_limit", recursion_limit, ["GET", "POST"]),
    ]
    return [Route("/_emulator" + path, _guard(fn), methods=m) for path, fn, m in table]


def seed_directory(
    state: EmulatorState,
    *,
    users: int = 50,
    departments: int = 5,
    chats: int = 3,
    domain: str = "example.com",
    seed: int = 1,
) -> dict[str, Any]:
    """Add a synthetic organisation: ``departments`` departments (some nested), ``users``
    people spread over them (``user00001@<domain>``, mobiles ``+861390000xxxx``), and
    ``chats`` groups (``Team 1`` ...) with a few members each. Deterministic for a ``seed``.

    Returns what was added: ``{"departments": [...ids], "users": n, "chats": [...ids]}``.
    """
    if users < 0 or departments < 0 or chats < 0:
        raise ValueError("counts must be >= 0")
    rng = random.Random(seed)
    dept_ids: list[str] = []
    with state.lock:
        for i in range(1, departments + 1):
            parent = ROOT_DEPARTMENT_ID
            if dept_ids and i % 3 == 0:
                parent = dept_ids[rng.randrange(len(dept_ids))]
            dept_id = f"D{i:03d}"
            state.add_department(dept_id, f"Department {i}", parent_department_id=parent, order=i)
            dept_ids.append(dept_id)
        user_ids: list[str] = []
        for i in range(1, users + 1):
            user_id = f"u{i:05d}"
            state.add_user(
                user_id,
                name=f"User {i}",
                email=f"user{i:05d}@{domain}",
                mobile=f"+86139{i:08d}",
                department_ids=[dept_ids[rng.randrange(len(dept_ids))]] if dept_ids else [],
                en_name=f"User {i}",
                job_title=rng.choice(["Engineer", "Designer", "Manager", "Analyst"]),
                employee_no=f"E{i:05d}",
            )
            user_ids.append(user_id)
        chat_ids: list[str] = []
        for i in range(1, chats + 1):
            chat_id = f"oc_seed{seed:04d}{i:04d}"
            members = rng.sample(user_ids, min(len(user_ids), 5))
            state.add_chat(
                chat_id,
                f"Team {i}",
                members=members,
                owner_id=members[0] if members else None,
                description=f"Synthetic group {i}",
            )
            chat_ids.append(chat_id)
    return {"departments": dept_ids, "users": users, "chats": chat_ids}
