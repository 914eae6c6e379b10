"""Error bodies the API sends with 4xx responses."""

from __future__ import annotations

from ._base import APIModel

__all__ = ["OAuth2ErrorBody", "RequestErrorBody"]


class OAuth2ErrorBody(APIModel):
    """The body of most 401/404 responses: ``error``, ``errorDescription`` (OAuth2ErrorResponse)."""

    error: str | None = None
    error_description: str | None = None

    @property
    def detail(self) -> str | None:
        """The most specific human-readable text the body carries."""
        return self.error_description or self.error


class RequestErrorBody(APIModel):
    """The body of a rejected submission or lookup: type, description, message (HTCRequestError)."""

    error_type: str | None = None
    error_description: str | None = None
    message: str | None = None

    @property
    def detail(self) -> str | None:
        """The most specific human-readable text the body carries."""
        return self.message or self.error_description or self.error_type
