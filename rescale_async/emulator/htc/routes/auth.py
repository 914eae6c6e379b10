"""Authentication routes: the key set, bearer tokens for credentials, whoami, OAuth2."""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import parse_qsl

from starlette.responses import Response

from ....htc.types import (
    FeatureFlag,
    FeatureFlags,
    OAuth2Token,
    Organization,
    User,
    WhoAmI,
    Workspace,
)
from ._base import Call, Parts, RouteSpec
from ._common import json_response

__all__ = ["routes"]


def routes() -> list[RouteSpec]:
    """The authentication routes."""
    return [
        RouteSpec("GET", "/.well-known/jwks.json", jwks, "none"),
        RouteSpec("GET", "/auth/token", token, "credential"),
        RouteSpec("GET", "/auth/token/whoami", token_whoami, "bearer"),
        RouteSpec("GET", "/auth/whoami", whoami, "credential"),
        RouteSpec("POST", "/oauth2/token", oauth2_token, "none"),
    ]


def _lifetime(parts: Parts) -> float:
    """Seconds new bearer tokens live: the fault override, else the configured lifetime."""
    override = parts.faults.token_lifetime
    return parts.config.token_lifetime if override is None else override


async def jwks(call: Call) -> Response:
    return json_response(call.parts.issuer.jwks())


async def token(call: Call) -> Response:
    lifetime = _lifetime(call.parts)
    value = call.parts.issuer.issue(call.claims, lifetime)
    return json_response({"tokenValue": value, "expiresIn": int(lifetime)})


async def token_whoami(call: Call) -> Response:
    # HTCTokenPayload is a string in the published schema: the payload, JSON-encoded.
    return json_response(json.dumps(call.claims, sort_keys=True))


async def whoami(call: Call) -> Response:
    c = call.config
    user = User(
        user_id=c.user_id,
        email=c.user_email,
        full_name=c.user_full_name,
        organization=Organization(code=c.organization_code, can_view_organization_jobs=True),
        workspace=Workspace(id=c.workspace_id, name=c.workspace_name),
        is_organization_admin=True,
        is_rescale_admin=False,
        is_superuser=False,
        is_workspace_admin=True,
        organization_admin=True,
        rescale_admin=False,
        superuser=False,
        workspace_admin=True,
    )
    features = FeatureFlags(count=1, results=[FeatureFlag(name="htc", value=True)])
    return json_response(WhoAmI(user=user, user_features=features).to_api())


async def oauth2_token(call: Call) -> Response:
    """Client credentials (form fields or HTTP Basic): the client id and an API key."""
    request = call.request
    raw = (await request.body()).decode("utf-8", errors="replace")
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    client_id, secret = fields.get("client_id"), fields.get("client_secret")
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
            client_id, _, secret = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = None
    if fields.get("grant_type") != "client_credentials":
        return json_response(
            {
                "error": "unsupported_grant_type",
                "errorDescription": "Only grant_type=client_credentials is supported",
            },
            400,
        )
    if client_id != call.config.oauth_client_id or secret not in call.state.api_keys:
        return json_response(
            {"error": "invalid_client", "errorDescription": "Client authentication failed"},
            400,
        )
    lifetime = _lifetime(call.parts)
    value = call.parts.issuer.issue(call.state.user_claims(), lifetime)
    body = OAuth2Token.model_validate(
        {"access_token": value, "expires_in": int(lifetime), "token_type": "Bearer"}
    )
    return json_response(body.to_api())
