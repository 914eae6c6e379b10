"""What several platform models share: ids that may come as numbers, status displays."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator

from ..._core.models import APIModel

__all__ = ["IdText", "StatusDisplay"]


def _number_as_text(value: object) -> object:
    """An id given as a JSON number (run ids are ``"1"``, sometimes ``1``) as its text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


IdText = Annotated[str, BeforeValidator(_number_as_text)]
"""A short, case-sensitive id (``ObMcJc``; run ids ``"1"``); a number is taken as its text."""


class StatusDisplay(APIModel):
    """A status as the portal shows it: ``{"content": "Executing", ...}``."""

    content: str | None = None
