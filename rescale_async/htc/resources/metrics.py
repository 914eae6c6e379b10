"""``client.metrics``: the service's metrics in text form."""

from __future__ import annotations

from ._base import APIResource

__all__ = ["Metrics"]


class Metrics(APIResource):
    """Service metrics (an operations endpoint rather than a REST resource)."""

    async def get(self) -> str:
        """The metrics as the service exposes them (text/plain). ``GET /htc/metrics``"""
        return await self._call_text("GET", "htc/metrics")
