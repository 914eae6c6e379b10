"""``client.tasks``."""

from __future__ import annotations

from ._base import APIResource

__all__ = ["Tasks"]


class Tasks(APIResource):
    """TODO(helper): the tasks operations."""
