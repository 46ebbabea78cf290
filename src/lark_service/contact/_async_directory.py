"""The directory: contact lookups orchestrated over the thin contact resource.

It owns what is not one endpoint: the per-app user cache and its negative cache (read first,
written after every fetch), chunking batch lookups by 50, the department walk (recursive with
``fetch_child``, breadth first when Feishu answers 43010 for a department too big for that),
progress reporting, and ``cache.hit`` / ``cache.miss`` instrumentation. Every call to Feishu
goes through the resource (``AsyncContactClient``), so options, pacing, retries and error
mapping stay the pipeline's. This async source is the truth; ``Directory`` is generated.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Literal

from .. import errors
from .._concurrency import async_blocking
from ..logging import get_logger
from ._helpers import (
    BIG_DEPARTMENT_CODE,
    ProgressCallback,
    assemble_tree,
    department_key,
    mask,
    report_lookups,
    with_key,
)
from ._ids import BATCH_SIZE, DepartmentIdType, UserIdType, chunks, unique
from .models import Department, User

if TYPE_CHECKING:
    from ._async_client import AsyncContactClient

__all__ = ["AsyncDirectory"]

logger = get_logger("lark_service.contact")

_BIG_DEPARTMENTS = "contact.big_departments"
"""Shared state: ``(app, id_type, department)`` keys Feishu refused to list recursively."""


class AsyncDirectory:
    """Cached lookups and department walks for one contact client (and its options)."""

    def __init__(self, contact: AsyncContactClient) -> None:
        self._contact = contact

    # -- users --------------------------------------------------------------------------------

    async def users_by(
        self,
        kind: Literal["email", "mobile"],
        values: list[str],
        *,
        refresh: bool,
        app_id: str | None,
    ) -> dict[str, User]:
        """Users by normalized email or mobile: cache, then negative cache, then Feishu (50
        values per request); what Feishu does not know is remembered as a negative entry."""
        app = await self._contact._app_id(app_id)
        cache = self._contact.cache
        values = unique(values)
        found: dict[str, User] = {}
        missing = values
        if not refresh:
            found = await async_blocking(cache.get_many, app, kind, values)
            missing = [v for v in values if v not in found]
            unknown: set[str] = set()
            if missing:
                unknown = await async_blocking(cache.negatives, app, kind, missing)
                missing = [v for v in missing if v not in unknown]
            report_lookups(
                app, kind, hits=len(found), negative_hits=len(unknown), misses=len(missing)
            )
        if not missing:
            return found
        open_ids: dict[str, str] = {}
        for part in chunks(missing, BATCH_SIZE):
            open_ids.update(await self._contact._batch_get_id(kind, part, app))
        profiles = await self._profiles(app, unique(open_ids.values()))
        unknown_now: list[str] = []
        for value in missing:
            user = profiles.get(open_ids.get(value, ""))
            if user is None:
                unknown_now.append(value)
                continue
            user = profiles[user.open_id] = with_key(user, kind, value)
            found[value] = user
        await async_blocking(cache.put_many, app, list(profiles.values()))
        if unknown_now:
            for value in unknown_now:
                logger.info(
                    "Feishu knows no user with %s %s (app %s); caching the miss",
                    kind,
                    mask(kind, value),
                    app,
                )
            if refresh:
                await async_blocking(cache.forget, app, kind, unknown_now)
            await async_blocking(cache.put_negative, app, kind, unknown_now)
        return found

    async def user(
        self, value: str, kind: UserIdType, *, refresh: bool, app_id: str | None
    ) -> User:
        """The user with this open_id, union_id or user_id: the cache, else Feishu."""
        app = await self._contact._app_id(app_id)
        cache = self._contact.cache
        if not refresh:
            cached = await async_blocking(cache.get, app, kind, value)
            report_lookups(app, kind, hits=int(cached is not None), misses=int(cached is None))
            if cached is not None:
                return cached
        user = with_key(await self._contact._fetch_user(value, kind, app), kind, value)
        await async_blocking(cache.put_many, app, [user])
        return user

    async def resolve(
        self,
        kind: Literal["email", "mobile"],
        value: str,
        query: str,
        *,
        refresh: bool,
        app_id: str | None,
    ) -> User:
        """The user with this normalized email or mobile; NotFoundError naming ``query``."""
        app = await self._contact._app_id(app_id)
        user = (await self.users_by(kind, [value], refresh=refresh, app_id=app)).get(value)
        if user is None:
            raise errors.NotFoundError(
                f"no Feishu user with {kind} {query!r} is visible to app {app}",
                hint="Check the address; the user may be outside the app's contacts data range "
                "or have resigned.",
            )
        return user

    async def _profiles(self, app: str, open_ids: list[str]) -> dict[str, User]:
        profiles: dict[str, User] = {}
        for part in chunks(open_ids, BATCH_SIZE):
            for user in await self._contact._batch_users(part, app):
                profiles[user.open_id] = user
        return profiles

    # -- departments --------------------------------------------------------------------------

    async def department_users(
        self,
        value: str,
        id_type: DepartmentIdType,
        *,
        recursive: bool,
        app_id: str | None,
        on_progress: ProgressCallback | None,
    ) -> list[User]:
        """Every member of the department (and of its descendants), every page, cached in one
        transaction; ``on_progress`` after each page."""
        app = await self._contact._app_id(app_id)
        top = await self._contact._fetch_department(value, id_type, app)
        targets = [value]
        if recursive:
            for child in await self.descendants(value, id_type, app):
                key = department_key(child, id_type)
                if key and key not in targets:
                    targets.append(key)
        expected = top.member_count if recursive else top.primary_member_count
        members: dict[str, User] = {}
        for target in targets:
            pager = self._contact.list_department_users(
                target, department_id_type=id_type, app_id=app
            )
            async for page in pager.pages():
                for user in page:
                    members.setdefault(user.open_id, user)
                if on_progress is not None:
                    on_progress(len(members), expected)
        users = list(members.values())
        await async_blocking(self._contact.cache.put_many, app, users)
        return users

    async def department_tree(
        self, value: str, id_type: DepartmentIdType, *, app_id: str | None
    ) -> Department:
        """The department with its descendants nested in ``children``."""
        app = await self._contact._app_id(app_id)
        top = await self._contact._fetch_department(value, id_type, app)
        return assemble_tree(top, value, id_type, await self.descendants(value, id_type, app))

    async def descendants(
        self, value: str, id_type: DepartmentIdType, app: str
    ) -> list[Department]:
        """Every live department under ``value``, parents before their children.

        One recursive listing (``fetch_child=true``) when Feishu allows it; on 43010 (the
        department is too big for that) a breadth-first walk, one level per call, remembered
        for the department so later walks go straight to it.
        """
        big: set[tuple[str, str, str]] = self._contact._shared(_BIG_DEPARTMENTS, set)
        key = (app, id_type, value)
        if key not in big:
            pager = self._contact.list_child_departments(
                value, fetch_child=True, department_id_type=id_type, app_id=app
            )
            try:
                return [d async for d in pager if not d.is_deleted]
            except errors.InvalidParameterError as exc:
                if exc.code != BIG_DEPARTMENT_CODE:
                    raise
                logger.info(
                    "department %s of app %s is too big to list recursively (%s); "
                    "walking it one level at a time",
                    value,
                    app,
                    BIG_DEPARTMENT_CODE,
                )
                big.add(key)
        return await self._walk_breadth_first(value, id_type, app)

    async def _walk_breadth_first(
        self, value: str, id_type: DepartmentIdType, app: str
    ) -> list[Department]:
        found: list[Department] = []
        seen = {value}
        queue = deque([value])
        while queue:
            parent = queue.popleft()
            pager = self._contact.list_child_departments(
                parent, fetch_child=False, department_id_type=id_type, app_id=app
            )
            async for department in pager:
                if department.is_deleted:
                    continue
                key = department_key(department, id_type)
                if key in seen:
                    continue
                found.append(department)
                if key:
                    seen.add(key)
                    queue.append(key)
        return found
