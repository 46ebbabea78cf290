"""Contact results: ``User`` and ``Department`` (pydantic v2; unknown Feishu fields are kept)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..models import LarkModel

__all__ = ["Department", "DepartmentStatus", "User", "UserAvatar", "UserStatus"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class UserAvatar(_Part):
    """Avatar URLs in several sizes."""

    avatar_72: str | None = None
    avatar_240: str | None = None
    avatar_640: str | None = None
    avatar_origin: str | None = None

    @property
    def url(self) -> str | None:
        """The largest size given."""
        return self.avatar_origin or self.avatar_640 or self.avatar_240 or self.avatar_72


class UserStatus(_Part):
    """Account state flags."""

    is_frozen: bool | None = None
    is_resigned: bool | None = None
    is_activated: bool | None = None
    is_exited: bool | None = None
    is_unjoin: bool | None = None


class User(LarkModel):
    """A person as one app sees them: ``open_id`` differs per app, ``union_id`` does not.

    ``email``, ``mobile``, ``user_id`` and ``employee_no`` appear only when the app holds the
    matching field scopes. ``from_cache`` tells whether the answer came from the user cache
    (then ``request_id`` / ``log_id`` are None).
    """

    open_id: str
    union_id: str | None = None
    user_id: str | None = None
    name: str | None = None
    en_name: str | None = None
    email: str | None = None
    mobile: str | None = None
    avatar: UserAvatar | None = None
    department_ids: list[str] = Field(default_factory=list)
    job_title: str | None = None
    employee_no: str | None = None
    status: UserStatus | None = None
    from_cache: bool = False

    @field_validator("department_ids", mode="before")
    @classmethod
    def _none_is_empty(cls, value: object) -> object:
        return [] if value is None else value

    @property
    def is_active(self) -> bool:
        """Not resigned, exited or frozen (unknown status counts as active)."""
        s = self.status
        return s is None or not (s.is_resigned or s.is_exited or s.is_frozen)


class DepartmentStatus(_Part):
    """Department state."""

    is_deleted: bool | None = None


class Department(LarkModel):
    """A department; ``children`` is filled by ``get_department_tree``.

    ``"0"`` is the root. ``member_count`` counts the whole subtree, ``primary_member_count``
    the direct members.
    """

    department_id: str | None = None
    open_department_id: str | None = None
    name: str | None = None
    parent_department_id: str | None = None
    leader_user_id: str | None = None
    chat_id: str | None = None
    order: int | None = None
    member_count: int | None = None
    primary_member_count: int | None = None
    status: DepartmentStatus | None = None
    children: list[Department] = Field(default_factory=list)

    @field_validator("order", mode="before")
    @classmethod
    def _int_or_none(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return None
        return value

    @property
    def is_deleted(self) -> bool:
        """Whether Feishu marks the department deleted."""
        return bool(self.status and self.status.is_deleted)

    def walk(self) -> list[Department]:
        """This department and every descendant, depth first."""
        found = [self]
        for child in self.children:
            found.extend(child.walk())
        return found
