"""Roles (DESIGN §7): viewer reads, operator may halt or reduce, risk_admin may also resume.

Roles are Django groups; they nest, so a risk admin is also an operator and a viewer.
"""

from __future__ import annotations

from typing import Any

VIEWER = "viewer"
OPERATOR = "operator"
RISK_ADMIN = "risk_admin"
ROLES = (VIEWER, OPERATOR, RISK_ADMIN)
_RANK = {VIEWER: 1, OPERATOR: 2, RISK_ADMIN: 3}


def role_of(user: Any) -> str | None:
    """The highest role a user holds, or None for anonymous users and users with no role."""
    if user is None or not user.is_authenticated:
        return None
    if user.is_superuser:
        return RISK_ADMIN
    names = {group.name for group in user.groups.all()}
    for role in reversed(ROLES):
        if role in names:
            return role
    return None


def has_role(user: Any, role: str) -> bool:
    held = role_of(user)
    return held is not None and _RANK[held] >= _RANK[role]
