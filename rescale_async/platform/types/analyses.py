"""Software: analyses (tiles) and their versions."""

from __future__ import annotations

from typing import Any

from pydantic import PrivateAttr, model_validator

from ..._core.models import APIModel
from ._common import IdText
from .jobs import AnalysisRef

__all__ = ["Analysis", "AnalysisVersion"]


class AnalysisVersion(APIModel):
    """One version of an analysis: ``version`` is its display name, ``version_code`` what a
    job's ``analysis.version`` takes (``"0"`` for ``user_included``).
    """

    id: IdText | None = None
    version: str | None = None
    version_code: str | None = None
    allowed_core_types: list[str] | None = None
    _analysis_code: str | None = PrivateAttr(default=None)

    @property
    def analysis_code(self) -> str | None:
        """The code of the analysis this version belongs to (when it came with one)."""
        return self._analysis_code

    def ref(self) -> AnalysisRef:
        """The ``analysis`` of a JobAnalysis that runs this version."""
        if not self._analysis_code or not self.version_code:
            raise ValueError(
                "this AnalysisVersion lacks its analysis code or versionCode; look it up with "
                "client.analyses.version(code, version_name)"
            )
        return AnalysisRef(code=self._analysis_code, version=self.version_code)

    def matches(self, name: str) -> bool:
        """Whether ``name`` is this version's display name or version code."""
        return name in (self.version, self.version_code)


class Analysis(APIModel):
    """A software tile (``GET analyses/``); each of its ``versions`` knows its analysis code."""

    code: str
    name: str | None = None
    vendor_name: str | None = None
    description: str | None = None
    versions: list[AnalysisVersion] | None = None
    license_settings: list[Any] | None = None

    @model_validator(mode="after")
    def _tell_versions_their_code(self) -> Analysis:
        for version in self.versions or ():
            version._analysis_code = self.code
        return self

    def find_version(self, name: str) -> AnalysisVersion | None:
        """The version whose display name or version code is ``name`` (exact first, then
        ignoring case), or None.
        """
        versions = self.versions or []
        exact = [v for v in versions if v.matches(name)]
        if exact:
            return exact[0]
        folded = name.casefold()
        loose = [
            v
            for v in versions
            if folded in ((v.version or "").casefold(), (v.version_code or "").casefold())
        ]
        return loose[0] if loose else None

    def version_names(self) -> list[str]:
        """Every version as ``display name (code)``, for messages."""
        return [f"{v.version} ({v.version_code})" for v in self.versions or ()]
