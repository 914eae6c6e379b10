"""``client.coretypes`` and ``client.prices``: hardware and what it costs."""

from __future__ import annotations

import builtins

import anyio

from ..._core.pagination import AsyncPaginator
from ..types import ComputePrice, CoreType
from ._base import PlatformResource

__all__ = ["CoreTypeCatalogue", "CoreTypes", "Prices"]


class CoreTypes(PlatformResource):
    """Hardware types, with the core counts each allows."""

    def list(
        self,
        *,
        is_active: bool | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[CoreType]:
        """Every coretype (only the active or inactive ones with ``is_active``).
        ``GET coretypes/``
        """
        return self._list(
            "coretypes/",
            CoreType,
            params={"isActive": is_active},
            page_size=page_size,
            limit=limit,
        )


class Prices(PlatformResource):
    """Compute prices per coretype, plan and OS."""

    async def list(self) -> builtins.list[ComputePrice]:
        """Every compute price (one array, not paged). ``GET billing/computeprices/``"""
        return await self._call("GET", "billing/computeprices/", list[ComputePrice])


class CoreTypeCatalogue:
    """The coretypes by code, fetched once per client (and again when asked for a code it
    does not hold, in case the catalogue grew), for checking job definitions before they are
    sent. Shared by every view of a client; concurrent first uses share one fetch.
    """

    def __init__(self) -> None:
        self._by_code: dict[str, CoreType] | None = None
        self._lock = anyio.Lock()

    async def get(
        self, coretypes: CoreTypes, *, needed: frozenset[str] = frozenset()
    ) -> dict[str, CoreType]:
        """The catalogue, holding every code of ``needed`` if the service knows it."""
        async with self._lock:
            held = self._by_code
            if held is None or not needed <= held.keys():
                held = {coretype.code: coretype async for coretype in coretypes.list()}
                self._by_code = held
            return held
