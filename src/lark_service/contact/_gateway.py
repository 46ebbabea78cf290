"""Gateway operations of ``client.contact``: user lookups by email, mobile or id, and a
department's members."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from .. import errors
from ..gateway import GatewayQuery, examples, expose

__all__ = ["OPERATIONS"]


class FindUserQuery(GatewayQuery):
    model_config = examples({"email": "alice@example.com"})

    email: str | None = Field(default=None, min_length=3, max_length=320)
    mobile: str | None = Field(default=None, min_length=3, max_length=32)
    refresh: bool = Field(default=False, description="Skip the 24 h contact cache.")

    @model_validator(mode="after")
    def _one(self) -> FindUserQuery:
        if (self.email is None) == (self.mobile is None):
            raise ValueError("give exactly one of email or mobile")
        return self


class UserQuery(GatewayQuery):
    id_type: Literal["open_id", "union_id", "user_id"] | None = None
    refresh: bool = False


class DepartmentUsersQuery(GatewayQuery):
    recursive: bool = False
    department_id_type: Literal["department_id", "open_department_id"] | None = None


async def find_user(
    contact: Any,
    *,
    email: str | None = None,
    mobile: str | None = None,
    refresh: bool = False,
    app_id: str | None = None,
) -> Any:
    if email is not None:
        user = await contact.get_user_by_email(email, refresh=refresh, app_id=app_id)
    else:
        user = await contact.get_user_by_mobile(mobile, refresh=refresh, app_id=app_id)
    if user is None:
        raise errors.NotFoundError(
            f"no user has the {'email' if email is not None else 'mobile'} "
            f"{email if email is not None else mobile}",
            hint="Check the address, or the app's contact range.",
        )
    return user


_READ = ["contact:read"]

OPERATIONS = [
    expose("GET", "/contact/users", find_user, scopes=_READ, query=FindUserQuery,
           summary="Find a user by email or mobile (404 when none)"),
    expose("GET", "/contact/users/{user_id}", "get_user", scopes=_READ, query=UserQuery,
           summary="A user by open_id, union_id or user_id"),
    expose("GET", "/contact/departments/{department_id}/users", "get_department_users",
           scopes=_READ, query=DepartmentUsersQuery, summary="Every member of a department"),
]  # fmt: skip
