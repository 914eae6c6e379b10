"""The caller's user and the projects it may submit to."""

from __future__ import annotations

from ..._core.models import APIModel
from ._common import IdText

__all__ = ["Company", "Project", "User"]


class Company(APIModel):
    """The company (organisation) a user belongs to."""

    code: str | None = None
    name: str | None = None


class User(APIModel):
    """``GET users/me/``: the caller (its exact schema is undocumented; every field kept)."""

    id: IdText | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    company: Company | None = None


class Project(APIModel):
    """A project a job can be charged to (``projectId`` of a JobCreate)."""

    id: IdText
    name: str | None = None
    description: str | None = None
