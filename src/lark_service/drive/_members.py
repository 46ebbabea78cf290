"""Pure helpers for Drive permissions: which ``member_type`` an id is, and the enums Feishu takes.

Feishu's permission API names member types ``email``, ``openid``, ``unionid``, ``openchat``,
``opendepartmentid``, ``userid``, ``groupid``, ``wikispaceid`` (and ``appid``). An id is
recognised from its shape: an address with ``@`` is an ``email``, ``ou_`` an ``openid``,
``on_`` a ``unionid``, ``oc_`` an ``openchat``, ``od-`` an ``opendepartmentid``. Anything
else (a tenant ``user_id``, a user group) needs ``member_type=`` spelled out.
"""

from __future__ import annotations

import re
from typing import Literal

from ..errors import ValidationError

__all__ = [
    "DOC_TYPES",
    "LINK_SHARE_ENTITIES",
    "MEMBER_TYPES",
    "PERMS",
    "DocType",
    "MemberType",
    "Perm",
    "check_doc_type",
    "check_member_type",
    "check_perm",
    "infer_member_type",
    "member_ref",
]

MemberType = Literal[
    "email",
    "openid",
    "unionid",
    "openchat",
    "opendepartmentid",
    "userid",
    "groupid",
    "wikispaceid",
    "appid",
]
Perm = Literal["view", "edit", "full_access"]
DocType = Literal[
    "doc", "docx", "sheet", "bitable", "file", "folder", "wiki", "mindnote", "minutes", "slides"
]

MEMBER_TYPES: tuple[str, ...] = (
    "email",
    "openid",
    "unionid",
    "openchat",
    "opendepartmentid",
    "userid",
    "groupid",
    "wikispaceid",
    "appid",
)
PERMS: tuple[str, ...] = ("view", "edit", "full_access")
DOC_TYPES: tuple[str, ...] = (
    "doc",
    "docx",
    "sheet",
    "bitable",
    "file",
    "folder",
    "wiki",
    "mindnote",
    "minutes",
    "slides",
)
LINK_SHARE_ENTITIES: tuple[str, ...] = (
    "tenant_readable",
    "tenant_editable",
    "anyone_readable",
    "anyone_editable",
    "closed",
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("ou_", "openid"),
    ("on_", "unionid"),
    ("oc_", "openchat"),
    ("od-", "opendepartmentid"),
    ("cli_", "appid"),
)
_ALIASES = {
    "open_id": "openid",
    "union_id": "unionid",
    "chat_id": "openchat",
    "user_id": "userid",
    "department_id": "opendepartmentid",
    "open_department_id": "opendepartmentid",
    "group_id": "groupid",
    "app_id": "appid",
}


def infer_member_type(member_id: str) -> str:
    """Feishu's ``member_type`` for ``member_id``, from its shape (ValidationError if unknown)."""
    if _EMAIL.match(member_id):
        return "email"
    for prefix, kind in _PREFIXES:
        if member_id.startswith(prefix):
            return kind
    raise ValidationError(
        f"cannot tell what kind of member {member_id!r} is: give an email, an open_id (ou_…), "
        "a union_id (on_…), a chat_id (oc_…) or an open department id (od-…), or pass "
        "member_type= (e.g. 'userid')",
        field="member",
    )


def check_member_type(value: str) -> str:
    """``value`` as Feishu spells it (``open_id`` → ``openid``...); ValidationError otherwise."""
    if not isinstance(value, str):
        raise ValidationError("member_type must be a string", field="member_type")
    kind = _ALIASES.get(value, value)
    if kind not in MEMBER_TYPES:
        raise ValidationError(
            f"member_type must be one of {', '.join(MEMBER_TYPES)}, not {value!r}",
            field="member_type",
        )
    return kind


def member_ref(member: str, member_type: str | None = None) -> tuple[str, str]:
    """``(member_type, member_id)`` for a member given by id (and optionally its type)."""
    if not isinstance(member, str) or not member.strip():
        raise ValidationError("member must be a non-empty id or email", field="member")
    value = member.strip()
    if len(value) > 512:
        raise ValidationError("member id is longer than any Feishu id", field="member")
    kind = check_member_type(member_type) if member_type is not None else infer_member_type(value)
    if kind == "email" and not _EMAIL.match(value):
        raise ValidationError(f"{value!r} is not an email address", field="member")
    return kind, value


def check_perm(perm: str) -> str:
    """``perm`` checked against ``view`` / ``edit`` / ``full_access``."""
    if perm not in PERMS:
        raise ValidationError(
            f"perm must be one of {', '.join(PERMS)}, not {perm!r}",
            field="perm",
            hint="view reads, edit changes the content, full_access also manages sharing.",
        )
    return perm


def check_doc_type(doc_type: str) -> str:
    """``doc_type`` (the resource type Feishu's permission API calls ``type``)."""
    if doc_type not in DOC_TYPES:
        raise ValidationError(
            f"doc_type must be one of {', '.join(DOC_TYPES)}, not {doc_type!r}",
            field="doc_type",
            hint="A new-style document is 'docx'; an uploaded file is 'file'.",
        )
    return doc_type
