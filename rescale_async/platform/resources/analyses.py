"""``client.analyses``: software tiles and their versions."""

from __future__ import annotations

import difflib

from ..._core.exceptions import NoMatchError
from ..._core.pagination import AsyncPaginator
from ..types import Analysis, AnalysisVersion
from ._base import PlatformResource

__all__ = ["Analyses"]


class Analyses(PlatformResource):
    """Software tiles (over 700 on the real service, with 3200 versions)."""

    def list(
        self, *, page_size: int | None = None, limit: int | None = None
    ) -> AsyncPaginator[Analysis]:
        """Every analysis available to the caller. ``GET analyses/``"""
        return self._list("analyses/", Analysis, page_size=page_size, limit=limit)

    async def version(self, code: str, version_name: str) -> AnalysisVersion:
        """The version of analysis ``code`` whose display name or ``versionCode`` is
        ``version_name`` (``version("user_included", "0")``); ``.ref()`` of the answer is the
        ``analysis`` of a JobAnalysis. Walks ``GET analyses/`` until the analysis is found;
        a NoMatchError lists the versions there are (or the codes closest to ``code``).
        """
        codes: list[str] = []
        async for analysis in self.list():
            if analysis.code != code:
                codes.append(analysis.code)
                continue
            found = analysis.find_version(version_name)
            if found is None:
                there = ", ".join(analysis.version_names()) or "none"
                raise NoMatchError(
                    f"analysis {code!r} has no version {version_name!r}; its versions, as "
                    f"'name (versionCode)': {there}"
                )
            return found
        close = difflib.get_close_matches(code, codes, n=5)
        hint = f"closest codes: {', '.join(close)}" if close else f"{len(codes)} analyses listed"
        raise NoMatchError(f"no analysis with code {code!r} ({hint})")
