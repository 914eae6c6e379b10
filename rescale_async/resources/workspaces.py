"""``client.workspaces``."""

from __future__ import annotations

from ._base import APIResource

__all__ = ["Workspaces"]


class Workspaces(APIResource):
    """TODO(helper): the workspaces operations."""
