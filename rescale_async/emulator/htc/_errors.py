"""The error responses the service sends, as an exception the routes raise."""

from __future__ import annotations

from ...htc.types import OAuth2ErrorBody, RequestErrorBody
from .._errors import ApiError

__all__ = ["ApiError", "bad_request", "not_found", "not_found_request", "unauthorized"]


def bad_request(error_type: str, description: str, message: str | None = None) -> ApiError:
    """400 with the HTCRequestError body ``{errorType, errorDescription, message}``."""
    body = RequestErrorBody(
        error_type=error_type, error_description=description, message=message or description
    )
    return ApiError(400, body.to_api())


def not_found(description: str, error: str = "not_found") -> ApiError:
    """404 with the OAuth2ErrorResponse body most endpoints use."""
    return ApiError(404, OAuth2ErrorBody(error=error, error_description=description).to_api())


def not_found_request(description: str) -> ApiError:
    """404 with the HTCRequestError body the job endpoints use."""
    body = RequestErrorBody(
        error_type="NOT_FOUND", error_description=description, message=description
    )
    return ApiError(404, body.to_api())


def unauthorized(error: str, description: str) -> ApiError:
    """401 with the OAuth2ErrorResponse body and an RFC 6750 challenge."""
    challenge = f'Bearer error="{error}", error_description="{description}"'
    return ApiError(
        401,
        OAuth2ErrorBody(error=error, error_description=description).to_api(),
        {"WWW-Authenticate": challenge.replace("\n", " ")},
    )
