"""Who sent a request, checked as its route declares: a bearer token, a credential, or none."""

from __future__ import annotations

from typing import Any, Literal

from starlette.requests import Request

from .._tokens import InvalidToken, TokenIssuer
from ._errors import unauthorized
from ._state import State

__all__ = ["AuthKind", "authenticate"]

AuthKind = Literal["bearer", "credential", "none"]
"""``bearer``: a bearer token (resources); ``credential``: an API key or refresh token (the
token endpoints); ``none``: anyone (the key set, OAuth2, which checks its own form)."""


def authenticate(
    kind: AuthKind, request: Request, state: State, issuer: TokenIssuer
) -> dict[str, Any]:
    """The claims the request stands for (``{}`` for ``none``); 401 when it has none usable."""
    if kind == "bearer":
        return _bearer(request, issuer)
    if kind == "credential":
        return _credential(request, state)
    return {}


def _authorization(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if not scheme or not value.strip():
        raise unauthorized(
            "unauthorized", "Full authentication is required to access this resource"
        )
    return scheme.lower(), value.strip()


def _bearer(request: Request, issuer: TokenIssuer) -> dict[str, Any]:
    scheme, value = _authorization(request)
    if scheme != "bearer":
        raise unauthorized(
            "invalid_token", "This endpoint requires an Authorization: Bearer <token> header"
        )
    try:
        return issuer.verify(value)
    except InvalidToken as exc:
        raise unauthorized("invalid_token", exc.description) from None


def _credential(request: Request, state: State) -> dict[str, Any]:
    scheme, value = _authorization(request)
    if scheme == "token":
        if value in state.api_keys:
            return state.user_claims()
        raise unauthorized("unauthorized", "Invalid API key")
    if scheme == "refresh":
        claims = state.refresh_tokens.get(value)
        if claims is not None:
            return dict(claims)
        raise unauthorized("unauthorized", "Invalid refresh token")
    raise unauthorized(
        "unauthorized",
        "Expected an Authorization: Token <API key> or Refresh <refresh token> header",
    )
