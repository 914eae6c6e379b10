"""``client.auth``: tokens, identity and the keys that sign bearer tokens."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote_plus

from pydantic import SecretStr

from ..._core.auth import BearerToken, verify_token
from ..._core.exceptions import ResponseValidationError
from ..._core.pipeline import AuthKind
from ..types import AuthToken, OAuth2Token, WhoAmI
from ._base import APIResource

__all__ = ["Auth"]


class Auth(APIResource):
    """Bearer tokens, identity, OAuth2 client tokens and JWT verification."""

    async def bearer_token(self) -> BearerToken:
        """The bearer token the client is using now, renewed first if it is about to expire."""
        return await self._pipeline.bearer_token()

    async def token(self) -> AuthToken:
        """A fresh bearer token, apart from the one the client manages. ``GET /auth/token``"""
        return await self._call("GET", "auth/token", AuthToken, auth=AuthKind.CREDENTIAL)

    async def user(self) -> WhoAmI:
        """The user the API key or refresh token belongs to. ``GET /auth/whoami``"""
        return await self._call("GET", "auth/whoami", WhoAmI, auth=AuthKind.CREDENTIAL)

    async def oauth2_token(
        self, *, client_id: str, client_secret: str | SecretStr, scope: str | None = None
    ) -> OAuth2Token:
        """An access token for an OAuth2 client (client-credentials grant).

        ``POST /oauth2/token``
        """
        secret = (
            client_secret.get_secret_value()
            if isinstance(client_secret, SecretStr)
            else client_secret
        )
        if not client_id:
            raise ValueError("client_id cannot be empty")
        if not secret:
            raise ValueError("client_secret cannot be empty")
        # RFC 6749 section 2.3.1: both are form-encoded before HTTP Basic joins them with ":".
        pair = f"{quote_plus(client_id)}:{quote_plus(secret)}"
        basic = base64.b64encode(pair.encode()).decode()
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        return await self._call(
            "POST",
            "oauth2/token",
            OAuth2Token,
            data=form,
            headers={"Authorization": f"Basic {basic}"},
            auth=AuthKind.NONE,
        )

    async def whoami(self) -> dict[str, Any]:
        """The current bearer token's payload, as the service decodes it.

        ``GET /auth/token/whoami``
        """
        response = await self._pipeline.request("GET", "auth/token/whoami")
        body: Any = response.json()
        if isinstance(body, str):  # the published schema calls the payload a string
            try:
                body = json.loads(body)
            except ValueError:
                body = None
        if not isinstance(body, dict):
            raise ResponseValidationError(response, "expected the token payload as an object")
        return body

    async def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set that signs bearer tokens (no authentication needed).

        ``GET /.well-known/jwks.json``
        """
        response = await self._pipeline.request("GET", ".well-known/jwks.json", auth=AuthKind.NONE)
        body: Any = response.json()
        if not isinstance(body, dict):
            raise ResponseValidationError(response, "expected a JWK set object")
        return body

    async def verify(self, token: str | BearerToken) -> BearerToken:
        """Check ``token``'s signature and expiry against the service's JWKS; return it decoded.

        Raises TokenVerificationError when the token is malformed, expired, or not signed by
        a key the service publishes.
        """
        value = token.value.get_secret_value() if isinstance(token, BearerToken) else token
        claims = verify_token(await self.jwks(), value)
        return BearerToken.from_jwt(value).model_copy(update={"claims": claims})
