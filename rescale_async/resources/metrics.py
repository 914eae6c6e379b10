"""``client.metrics``."""

from __future__ import annotations

from ._base import APIResource

__all__ = ["Metrics"]


class Metrics(APIResource):
    """TODO(helper): the metrics operations."""
