"""``platform coretypes`` and ``platform analyses``: the hardware and the software on offer."""

from __future__ import annotations

from ...platform.types import Analysis, CoreType
from .._errors import EXIT_OK
from ._context import PlatformContext
from ._render import emit_json

__all__ = ["analyses", "coretypes"]


def _cores(coretype: CoreType) -> str:
    return ", ".join(map(str, coretype.cores or ()))


def _memory(coretype: CoreType) -> str:
    return "" if coretype.memory is None else f"{coretype.memory:g} MB/core"


async def coretypes(ctx: PlatformContext) -> int:
    """The coretypes (active ones unless ``--all``; ``--category`` of one category)."""
    out = ctx.output
    args = ctx.args
    async with ctx.client() as client:
        found = await client.coretypes.list(is_active=None if args.all else True).to_list()
    if args.category:
        found = [c for c in found if args.category in (c.category_codes or ())]
    if out.json:
        emit_json(out, found)
        return EXIT_OK
    out.table(
        ["CODE", "NAME", "CORES", "MEMORY", "PRICE"],
        ((c.code, c.name, _cores(c), _memory(c), c.price) for c in found),
        empty="no coretypes match",
    )
    return EXIT_OK


def _matches(analysis: Analysis, search: str) -> bool:
    folded = search.casefold()
    return folded in analysis.code.casefold() or folded in (analysis.name or "").casefold()


def _versions(analysis: Analysis) -> str:
    return ", ".join(v.version or v.version_code or "?" for v in analysis.versions or ())


async def analyses(ctx: PlatformContext) -> int:
    """The analyses (``--search`` in their code or name) and their versions' names."""
    out = ctx.output
    search: str | None = ctx.args.search
    async with ctx.client() as client:
        found = [a async for a in client.analyses.list() if not search or _matches(a, search)]
    if out.json:
        emit_json(out, found)
        return EXIT_OK
    out.table(
        ["CODE", "NAME", "VERSIONS"],
        ((a.code, a.name, _versions(a)) for a in found),
        empty="no analyses match",
    )
    return EXIT_OK
