"""``client.contact``: users and departments (``contact/v3``), with the per-app user cache."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from .. import errors
from .._async_resource import AsyncResource
from .._concurrency import async_blocking
from .._http import ApiResponse
from ..logging import get_logger
from ._errors import Subject, contact_error
from ._ids import (
    PAGE_SIZE,
    DepartmentIdType,
    LookupField,
    check_id,
    chunks,
    classify_query,
    normalize_email,
    normalize_mobile,
    path_part,
    unique,
    user_id_type,
)
from ._ids import (
    department_id_type as infer_department_id_type,
)
from .models import Department, User

if TYPE_CHECKING:
    from .cache import UserCache

__all__ = ["AsyncContactClient", "ProgressCallback"]

logger = get_logger("lark_service.contact")

ProgressCallback = Callable[[int, int | None], None]
"""``on_progress(users_so_far, expected_total_or_None)``."""

_USERS = "/open-apis/contact/v3/users"
_DEPARTMENTS = "/open-apis/contact/v3/departments"


class AsyncContactClient(AsyncResource):
    """Users and departments (``contact/v3``), cached per app in the state database.

    Lookups by email, mobile, open_id, user_id and union_id are answered from the cache while
    an entry is younger than its TTL (24 h by default); ``refresh=True`` skips the cache.
    """

    @property
    def cache(self) -> UserCache:
        """The user cache (made on first use from the client's settings: the state database,
        ``LARK_CONTACT_CACHE_TTL`` and ``LARK_CONTACT_NEGATIVE_TTL``), shared by every
        ``with_options`` / ``as_user`` copy of the client."""
        return self._shared("contact.cache", self._make_cache)

    @cache.setter
    def cache(self, cache: UserCache) -> None:
        self._pipeline.set_shared("contact.cache", cache)

    def _make_cache(self) -> UserCache:
        from .cache import UserCache

        settings = self.settings
        return UserCache(
            settings.resolved_database_url,
            ttl=settings.contact_cache_ttl,
            negative_ttl=settings.contact_negative_ttl,
            clock=self._pipeline.pool.clock,
        )

    # -- users --------------------------------------------------------------------------------

    async def get_user_by_email(
        self, email: str, *, refresh: bool = False, app_id: str | None = None
    ) -> User | None:
        """The user with this email, or None (logged at INFO) when Feishu knows none.

        ``POST /open-apis/contact/v3/users/batch_get_id`` then ``GET .../users/batch`` on a
        cache miss. Raises ValidationError (not an email), PermissionDeniedError (missing scope).
        """
        key = normalize_email(email)
        found = await self._lookup("email", [key], refresh=refresh, app_id=app_id)
        return found.get(key)

    async def get_user_by_mobile(
        self, mobile: str, *, refresh: bool = False, app_id: str | None = None
    ) -> User | None:
        """The user with this mobile (``+86`` assumed for 11-digit numbers), or None.

        ``POST /open-apis/contact/v3/users/batch_get_id`` then ``GET .../users/batch`` on a
        cache miss. Raises ValidationError (not a number), PermissionDeniedError.
        """
        key = normalize_mobile(mobile)
        found = await self._lookup("mobile", [key], refresh=refresh, app_id=app_id)
        return found.get(key)

    async def get_users_by_emails(
        self, emails: Iterable[str], *, refresh: bool = False, app_id: str | None = None
    ) -> dict[str, User | None]:
        """Users by email, keyed by the emails as given (None: unknown), 50 per request.

        ``POST /open-apis/contact/v3/users/batch_get_id`` and ``GET .../users/batch`` for the
        cache misses. Raises ValidationError (any bad address, before any request).
        """
        keys = _normalized(emails, normalize_email, "emails")
        found = await self._lookup("email", list(keys.values()), refresh=refresh, app_id=app_id)
        return {given: found.get(key) for given, key in keys.items()}

    async def get_users_by_mobiles(
        self, mobiles: Iterable[str], *, refresh: bool = False, app_id: str | None = None
    ) -> dict[str, User | None]:
        """Users by mobile, keyed by the numbers as given (None: unknown), 50 per request.

        ``POST /open-apis/contact/v3/users/batch_get_id`` and ``GET .../users/batch`` for the
        cache misses. Raises ValidationError (any bad number, before any request).
        """
        keys = _normalized(mobiles, normalize_mobile, "mobiles")
        found = await self._lookup("mobile", list(keys.values()), refresh=refresh, app_id=app_id)
        return {given: found.get(key) for given, key in keys.items()}

    async def get_user(
        self,
        user_id: str,
        *,
        id_type: str | None = None,
        refresh: bool = False,
        app_id: str | None = None,
    ) -> User:
        """The user with this open_id, union_id or user_id (``id_type`` inferred from the
        prefix: ``ou_`` / ``on_`` / else user_id).

        ``GET /open-apis/contact/v3/users/:user_id`` on a cache miss. Raises NotFoundError
        (no such user, or an open_id of another app), PermissionDeniedError (outside the
        contacts data range: 41050; missing scope: 99991672).
        """
        value = check_id(user_id, "user_id")
        kind = user_id_type(value, id_type)
        app = await self._app_id(app_id)
        if not refresh:
            cached = await async_blocking(self.cache.get, app, kind, value)
            if cached is not None:
                return cached
        response = await self._call(
            "GET",
            f"{_USERS}/{path_part(value)}",
            app=app,
            params={"user_id_type": kind, "department_id_type": "open_department_id"},
            subject="user",
            value=value,
        )
        user = _user(response, response.data.get("user"))
        if not getattr(user, kind):  # the id asked by, even without its field scope
            user = user.model_copy(update={kind: value})
        await async_blocking(self.cache.put_many, app, [user])
        return user

    async def resolve(
        self,
        query: str,
        *,
        id_type: LookupField | None = None,
        refresh: bool = False,
        app_id: str | None = None,
    ) -> User:
        """The user named by an email, mobile, open_id, union_id or user_id (for code that
        needs the app's ``open_id``: ``client.contact.resolve("alice@example.com").open_id``).

        What ``query`` is follows :func:`classify_query` unless ``id_type`` says. Cached like
        the other lookups. Raises NotFoundError when nobody matches, ValidationError,
        PermissionDeniedError.
        """
        kind: LookupField = id_type or "user_id"
        value = query
        if id_type is None:
            kind, value = classify_query(query)
        if kind == "email":
            by: Literal["email", "mobile"] = "email"
            value = normalize_email(value)
        elif kind == "mobile":
            by = "mobile"
            value = normalize_mobile(value)
        else:
            return await self.get_user(value, id_type=kind, refresh=refresh, app_id=app_id)
        app = await self._app_id(app_id)
        user = (await self._lookup(by, [value], refresh=refresh, app_id=app)).get(value)
        if user is None:
            raise errors.NotFoundError(
                f"no Feishu user with {by} {query!r} is visible to app {app}",
                hint="Check the address; the user may be outside the app's contacts data range "
                "or have resigned.",
            )
        return user

    # -- departments --------------------------------------------------------------------------

    async def get_department(
        self,
        department_id: str,
        *,
        department_id_type: DepartmentIdType | None = None,
        app_id: str | None = None,
    ) -> Department:
        """One department (``"0"``: the root); a deleted one raises NotFoundError.

        ``GET /open-apis/contact/v3/departments/:department_id``. Raises NotFoundError (unknown
        or deleted), PermissionDeniedError (outside the contacts data range: 40004).
        """
        value = check_id(department_id, "department_id")
        id_type = infer_department_id_type(value, department_id_type)
        app = await self._app_id(app_id)
        return await self._department(app, value, id_type)

    async def get_department_users(
        self,
        department_id: str,
        *,
        recursive: bool = False,
        department_id_type: DepartmentIdType | None = None,
        app_id: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> list[User]:
        """Every member of a department (``recursive``: and of its sub-departments), all pages,
        cached in one transaction so later lookups by email or id are answered locally.

        ``GET /open-apis/contact/v3/departments/:id`` (the department must exist),
        ``.../departments/:id/children?fetch_child=true`` (``recursive``) and
        ``GET .../users/find_by_department`` (50 a page). Raises NotFoundError (unknown or
        deleted department, never an empty list for it), PermissionDeniedError.
        """
        value = check_id(department_id, "department_id")
        id_type = infer_department_id_type(value, department_id_type)
        app = await self._app_id(app_id)
        top = await self._department(app, value, id_type)
        targets = [value]
        if recursive:
            for child in await self._children(app, value, id_type, recursive=True):
                key = _department_key(child, id_type)
                if key and key not in targets:
                    targets.append(key)
        expected = top.member_count if recursive else top.primary_member_count
        members: dict[str, User] = {}
        for target in targets:
            token: str | None = None
            while True:
                params: dict[str, Any] = {
                    "department_id": target,
                    "department_id_type": id_type,
                    "user_id_type": "open_id",
                    "page_size": PAGE_SIZE,
                }
                if token:
                    params["page_token"] = token
                response = await self._call(
                    "GET",
                    f"{_USERS}/find_by_department",
                    app=app,
                    params=params,
                    subject="department",
                    value=target,
                )
                for item in response.data.get("items") or []:
                    user = _user(response, item)
                    members.setdefault(user.open_id, user)
                if on_progress is not None:
                    on_progress(len(members), expected)
                token = _next_page(response)
                if token is None:
                    break
        users = list(members.values())
        await async_blocking(self.cache.put_many, app, users)
        return users

    async def get_department_tree(
        self,
        root: str = "0",
        *,
        department_id_type: DepartmentIdType | None = None,
        app_id: str | None = None,
    ) -> Department:
        """``root`` with its sub-departments nested in ``children`` (sorted by order, name).

        ``GET /open-apis/contact/v3/departments/:id`` and
        ``.../departments/:id/children?fetch_child=true`` (all pages). Raises NotFoundError
        (unknown or deleted root), PermissionDeniedError (outside the contacts data range).
        """
        value = check_id(root, "root")
        id_type = infer_department_id_type(value, department_id_type)
        app = await self._app_id(app_id)
        top = await self._department(app, value, id_type)
        descendants = await self._children(app, value, id_type, recursive=True)
        nodes = {_department_key(d, id_type): d for d in descendants}
        top_keys = {value, _department_key(top, id_type)}
        for node in descendants:
            parent_key = node.parent_department_id or ""
            parent = top if parent_key in top_keys else nodes.get(parent_key, top)
            parent.children.append(node)
        for node in [top, *descendants]:
            node.children.sort(key=lambda d: (d.order or 0, d.name or ""))
        return top

    # -- internals ----------------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        app: str,
        subject: Subject,
        value: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> ApiResponse:
        context = functools.partial(_in_context, subject=subject, value=value)
        return await self._request(
            method,
            path,
            options=self._opts(app_id=app, error_context=context),
            params=params,
            json=json,
        )

    async def _lookup(
        self,
        kind: Literal["email", "mobile"],
        values: list[str],
        *,
        refresh: bool,
        app_id: str | None,
    ) -> dict[str, User]:
        """Users by normalized email or mobile: cache, then negative cache, then Feishu."""
        app = await self._app_id(app_id)
        values = unique(values)
        found: dict[str, User] = {}
        missing = values
        if not refresh:
            found = await async_blocking(self.cache.get_many, app, kind, values)
            missing = [v for v in values if v not in found]
            if missing:
                unknown = await async_blocking(self.cache.negatives, app, kind, missing)
                missing = [v for v in missing if v not in unknown]
        if not missing:
            return found
        open_ids: dict[str, str] = {}
        for part in chunks(missing):
            response = await self._call(
                "POST",
                f"{_USERS}/batch_get_id",
                app=app,
                params={"user_id_type": "open_id"},
                json={f"{kind}s": part, "include_resigned": False},
                subject=kind,
                value=part[0] if len(part) == 1 else f"{part[0]} (+{len(part) - 1} more)",
            )
            for item in response.data.get("user_list") or []:
                open_id, given = item.get("user_id"), item.get(kind)
                if isinstance(open_id, str) and open_id and isinstance(given, str):
                    open_ids[_normal(kind, given)] = open_id
        profiles = await self._fetch_profiles(app, unique(open_ids.values()))
        unknown_now: list[str] = []
        for value in missing:
            user = profiles.get(open_ids.get(value, ""))
            if user is None:
                unknown_now.append(value)
                continue
            if not getattr(user, kind):
                user = profiles[user.open_id] = user.model_copy(update={kind: value})
            found[value] = user
        await async_blocking(self.cache.put_many, app, list(profiles.values()))
        if unknown_now:
            for value in unknown_now:
                logger.info(
                    "Feishu knows no user with %s %s (app %s); caching the miss",
                    kind,
                    _mask(kind, value),
                    app,
                )
            if refresh:
                await async_blocking(self.cache.forget, app, kind, unknown_now)
            await async_blocking(self.cache.put_negative, app, kind, unknown_now)
        return found

    async def _fetch_profiles(self, app: str, open_ids: list[str]) -> dict[str, User]:
        profiles: dict[str, User] = {}
        for part in chunks(open_ids):
            response = await self._call(
                "GET",
                f"{_USERS}/batch",
                app=app,
                params={
                    "user_ids": part,
                    "user_id_type": "open_id",
                    "department_id_type": "open_department_id",
                },
                subject="user",
                value=part[0] if len(part) == 1 else f"{part[0]} (+{len(part) - 1} more)",
            )
            for item in response.data.get("items") or []:
                user = _user(response, item)
                profiles[user.open_id] = user
        return profiles

    async def _department(self, app: str, value: str, id_type: DepartmentIdType) -> Department:
        response = await self._call(
            "GET",
            f"{_DEPARTMENTS}/{path_part(value)}",
            app=app,
            params={"department_id_type": id_type, "user_id_type": "open_id"},
            subject="department",
            value=value,
        )
        department = Department.from_response(response, response.data.get("department") or {})
        if department.is_deleted:
            raise errors.NotFoundError(
                f"department {value} was deleted",
                request_id=response.request_id,
                log_id=response.log_id,
                http_status=response.http_status,
                hint="Deleted departments have no members; look up its successor.",
            )
        return department

    async def _children(
        self, app: str, value: str, id_type: DepartmentIdType, *, recursive: bool
    ) -> list[Department]:
        found: list[Department] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "department_id_type": id_type,
                "user_id_type": "open_id",
                "fetch_child": "true" if recursive else "false",
                "page_size": PAGE_SIZE,
            }
            if token:
                params["page_token"] = token
            response = await self._call(
                "GET",
                f"{_DEPARTMENTS}/{path_part(value)}/children",
                app=app,
                params=params,
                subject="department",
                value=value,
            )
            for item in response.data.get("items") or []:
                department = Department.from_response(response, item)
                if not department.is_deleted:
                    found.append(department)
            token = _next_page(response)
            if token is None:
                return found


def _department_key(department: Department, id_type: DepartmentIdType) -> str:
    if id_type == "department_id":
        return department.department_id or ""
    return department.open_department_id or ""


def _next_page(response: ApiResponse) -> str | None:
    token = response.data.get("page_token")
    if response.data.get("has_more") and isinstance(token, str) and token:
        return token
    return None


def _user(response: ApiResponse, data: Any) -> User:
    if not isinstance(data, dict) or not data.get("open_id"):
        raise errors.ServerError(
            "Feishu answered a user without an open_id",
            request_id=response.request_id,
            log_id=response.log_id,
            http_status=response.http_status,
        )
    return User.from_response(response, data)


def _normal(kind: Literal["email", "mobile"], value: str) -> str:
    try:
        return normalize_email(value) if kind == "email" else normalize_mobile(value)
    except errors.ValidationError:
        return value


def _normalized(
    values: Iterable[str], normalize: Callable[[str], str], field: str
) -> dict[str, str]:
    if isinstance(values, str):
        raise errors.ValidationError(
            f"{field} must be a list of strings, not one string", field=field
        )
    return {value: normalize(value) for value in values}


def _mask(kind: Literal["email", "mobile"], value: str) -> str:
    """An email or mobile shortened for logs: ``al***@example.com``, ``+86138****0001``."""
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:2]}***@{domain}"
    return value[:6] + "****" + value[-4:] if len(value) > 10 else value[:3] + "****"


def _in_context(
    exc: errors.LarkError, app_id: str, *, subject: Subject, value: str
) -> errors.LarkError:
    if not isinstance(exc, errors.APIError):
        return exc
    return contact_error(exc, app_id=app_id, subject=subject, value=value)
