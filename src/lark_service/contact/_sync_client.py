# Generated from src/lark_service/contact/_async_client.py by scripts/unasync.py: edit that file instead.
"""``client.contact``: users and departments (``contact/v3``), with the per-app user cache.

The client is a thin resource: each method validates its arguments, then either calls one
endpoint (path, body, ``self._request`` / ``self._paginate``) or hands the validated values to
the directory (``_sync_directory.py``), which owns the cache, the negative cache, chunking by
50 and the department walk. Pure helpers live in ``_helpers.py`` and ``_ids.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .. import errors
from .._sync_pagination import Pager
from .._sync_resource import Resource
from .._options import RequestOptions
from .._paths import api_path
from ._sync_directory import Directory
from ._errors import Subject, contact_context
from ._helpers import (
    ProgressCallback,
    batch_label,
    check_batch,
    normalized,
    open_ids_of,
    parse_department,
    parse_user,
)
from ._ids import (
    PAGE_SIZE,
    DepartmentIdType,
    LookupField,
    UserIdType,
    check_path_id,
    classify_query,
    normalize_email,
    normalize_mobile,
    user_id_type,
)
from ._ids import (
    department_id_type as infer_department_id_type,
)
from .models import Department, User

if TYPE_CHECKING:
    from .cache import UserCache

__all__ = ["ContactClient", "ProgressCallback"]

_USERS = "/open-apis/contact/v3/users"
_DEPARTMENTS = "/open-apis/contact/v3/departments"


class ContactClient(Resource):
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

    @property
    def _directory(self) -> Directory:
        return Directory(self)

    # -- users --------------------------------------------------------------------------------

    def get_user_by_email(
        self, email: str, *, refresh: bool = False, app_id: str | None = None
    ) -> User | None:
        """The user with this email, or None (logged at INFO) when Feishu knows none.

        ``POST /open-apis/contact/v3/users/batch_get_id`` then ``GET .../users/batch`` on a
        cache miss. Raises ValidationError (not an email), PermissionDeniedError (missing scope).
        """
        key = normalize_email(email)
        found = self._directory.users_by("email", [key], refresh=refresh, app_id=app_id)
        return found.get(key)

    def get_user_by_mobile(
        self, mobile: str, *, refresh: bool = False, app_id: str | None = None
    ) -> User | None:
        """The user with this mobile (``+86`` assumed for 11-digit numbers), or None.

        ``POST /open-apis/contact/v3/users/batch_get_id`` then ``GET .../users/batch`` on a
        cache miss. Raises ValidationError (not a number), PermissionDeniedError.
        """
        key = normalize_mobile(mobile)
        found = self._directory.users_by("mobile", [key], refresh=refresh, app_id=app_id)
        return found.get(key)

    def get_users_by_emails(
        self, emails: Iterable[str], *, refresh: bool = False, app_id: str | None = None
    ) -> dict[str, User | None]:
        """Users by email, keyed by the emails as given (None: unknown), 50 per request.

        ``POST /open-apis/contact/v3/users/batch_get_id`` and ``GET .../users/batch`` for the
        cache misses. Raises ValidationError (any bad address, before any request).
        """
        keys = normalized(emails, normalize_email, "emails")
        found = self._directory.users_by(
            "email", list(keys.values()), refresh=refresh, app_id=app_id
        )
        return {given: found.get(key) for given, key in keys.items()}

    def get_users_by_mobiles(
        self, mobiles: Iterable[str], *, refresh: bool = False, app_id: str | None = None
    ) -> dict[str, User | None]:
        """Users by mobile, keyed by the numbers as given (None: unknown), 50 per request.

        ``POST /open-apis/contact/v3/users/batch_get_id`` and ``GET .../users/batch`` for the
        cache misses. Raises ValidationError (any bad number, before any request).
        """
        keys = normalized(mobiles, normalize_mobile, "mobiles")
        found = self._directory.users_by(
            "mobile", list(keys.values()), refresh=refresh, app_id=app_id
        )
        return {given: found.get(key) for given, key in keys.items()}

    def get_user(
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
        value = check_path_id(user_id, "user_id")
        kind = user_id_type(value, id_type)
        return self._directory.user(value, kind, refresh=refresh, app_id=app_id)

    def resolve(
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
            return self._directory.resolve(
                "email", normalize_email(value), query, refresh=refresh, app_id=app_id
            )
        if kind == "mobile":
            return self._directory.resolve(
                "mobile", normalize_mobile(value), query, refresh=refresh, app_id=app_id
            )
        return self.get_user(value, id_type=kind, refresh=refresh, app_id=app_id)

    # -- departments --------------------------------------------------------------------------

    def get_department(
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
        value = check_path_id(department_id, "department_id")
        id_type = infer_department_id_type(value, department_id_type)
        return self._fetch_department(value, id_type, app_id)

    def get_department_users(
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
        ``.../departments/:id/children?fetch_child=true`` (``recursive``; a department too big
        for that, 43010, is walked level by level instead) and
        ``GET .../users/find_by_department`` (50 a page). Raises NotFoundError (unknown or
        deleted department, never an empty list for it), PermissionDeniedError.
        """
        value = check_path_id(department_id, "department_id")
        id_type = infer_department_id_type(value, department_id_type)
        if on_progress is not None and not callable(on_progress):
            raise errors.ValidationError(
                "on_progress must be a function (done, total) or None", field="on_progress"
            )
        return self._directory.department_users(
            value, id_type, recursive=recursive, app_id=app_id, on_progress=on_progress
        )

    def get_department_tree(
        self,
        root: str = "0",
        *,
        department_id_type: DepartmentIdType | None = None,
        app_id: str | None = None,
    ) -> Department:
        """``root`` with its sub-departments nested in ``children`` (sorted by order, name).

        ``GET /open-apis/contact/v3/departments/:id`` and
        ``.../departments/:id/children?fetch_child=true`` (all pages; a department too big for
        that, 43010, is walked level by level instead). Raises NotFoundError (unknown or
        deleted root), PermissionDeniedError (outside the contacts data range).
        """
        value = check_path_id(root, "root")
        id_type = infer_department_id_type(value, department_id_type)
        return self._directory.department_tree(value, id_type, app_id=app_id)

    def list_department_users(
        self,
        department_id: str,
        *,
        department_id_type: DepartmentIdType | None = None,
        app_id: str | None = None,
    ) -> Pager[User]:
        """The direct members of a department as a lazy pager (nothing fetched until
        iterated; not cached: :meth:`get_department_users` caches).

        ``GET /open-apis/contact/v3/users/find_by_department`` (50 a page). Raises
        ValidationError at once; NotFoundError, PermissionDeniedError when iterated.
        """
        value = check_path_id(department_id, "department_id")
        id_type = infer_department_id_type(value, department_id_type)
        return self._paginate(
            f"{_USERS}/find_by_department",
            parse_user,
            options=self._contact_opts(app_id, "department", value),
            params={
                "department_id": value,
                "department_id_type": id_type,
                "user_id_type": "open_id",
            },
            page_size=PAGE_SIZE,
        )

    def list_child_departments(
        self,
        department_id: str,
        *,
        fetch_child: bool = False,
        department_id_type: DepartmentIdType | None = None,
        app_id: str | None = None,
    ) -> Pager[Department]:
        """The sub-departments of a department (``fetch_child``: every descendant, parents
        before children) as a lazy pager, as Feishu answers them.

        ``GET /open-apis/contact/v3/departments/:id/children`` (50 a page). Raises
        ValidationError at once; NotFoundError, PermissionDeniedError and, with
        ``fetch_child`` on a department too large for it, InvalidParameterError (43010)
        when iterated.
        """
        value = check_path_id(department_id, "department_id")
        id_type = infer_department_id_type(value, department_id_type)
        return self._paginate(
            api_path(_DEPARTMENTS + "/{department_id}/children", department_id=value),
            parse_department,
            options=self._contact_opts(app_id, "department", value),
            params={
                "department_id_type": id_type,
                "user_id_type": "open_id",
                "fetch_child": "true" if fetch_child else "false",
            },
            page_size=PAGE_SIZE,
        )

    # -- endpoints used by the directory ------------------------------------------------------

    def _fetch_user(self, value: str, kind: UserIdType, app_id: str | None) -> User:
        """``GET /open-apis/contact/v3/users/:user_id``."""
        response = self._request(
            "GET",
            api_path(_USERS + "/{user_id}", user_id=value),
            options=self._contact_opts(app_id, "user", value),
            params={"user_id_type": kind, "department_id_type": "open_department_id"},
        )
        return parse_user(response, response.data.get("user"))

    def _batch_get_id(
        self, kind: LookupField, values: list[str], app_id: str | None
    ) -> dict[str, str]:
        """``POST /open-apis/contact/v3/users/batch_get_id``: ``{email or mobile: open_id}``
        for the people Feishu knows among at most 50 normalized values."""
        if kind not in ("email", "mobile"):
            raise errors.ValidationError(f"cannot look users up by {kind}", field="kind")
        check_batch(values, kind)
        response = self._request(
            "POST",
            f"{_USERS}/batch_get_id",
            options=self._contact_opts(app_id, kind, batch_label(values)),
            params={"user_id_type": "open_id"},
            json={f"{kind}s": values, "include_resigned": False},
        )
        return open_ids_of(response.data, kind)

    def _batch_users(self, open_ids: list[str], app_id: str | None) -> list[User]:
        """``GET /open-apis/contact/v3/users/batch``: the profiles of at most 50 open_ids."""
        check_batch(open_ids, "open_ids")
        response = self._request(
            "GET",
            f"{_USERS}/batch",
            options=self._contact_opts(app_id, "user", batch_label(open_ids)),
            params={
                "user_ids": open_ids,
                "user_id_type": "open_id",
                "department_id_type": "open_department_id",
            },
        )
        return [parse_user(response, item) for item in response.data.get("items") or []]

    def _fetch_department(
        self, value: str, id_type: DepartmentIdType, app_id: str | None
    ) -> Department:
        """``GET /open-apis/contact/v3/departments/:department_id``; a deleted department
        raises NotFoundError."""
        response = self._request(
            "GET",
            api_path(_DEPARTMENTS + "/{department_id}", department_id=value),
            options=self._contact_opts(app_id, "department", value),
            params={"department_id_type": id_type, "user_id_type": "open_id"},
        )
        department = parse_department(response, response.data.get("department"))
        if department.is_deleted:
            raise errors.NotFoundError(
                f"department {value} was deleted",
                request_id=response.request_id,
                log_id=response.log_id,
                http_status=response.http_status,
                hint="Deleted departments have no members; look up its successor.",
            )
        return department

    def _contact_opts(self, app_id: str | None, subject: Subject, value: str) -> RequestOptions:
        return self._opts(app_id=app_id, error_context=contact_context(subject, value))
