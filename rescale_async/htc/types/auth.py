"""Authentication: bearer tokens, whoami, the JWKS that signs tokens, OAuth2 tokens."""

from __future__ import annotations

from typing import Any, TypeAlias

from pydantic import Field

from ._base import APIModel, SecretText

__all__ = [
    "AuthToken",
    "FeatureFlag",
    "FeatureFlags",
    "JsonWebKey",
    "JsonWebKeySet",
    "Key",
    "OAuth2Token",
    "Organization",
    "PublicKey",
    "TokenPayload",
    "User",
    "WhoAmI",
    "Workspace",
]


class AuthToken(APIModel):
    """A bearer JWT and its lifetime in seconds, from ``GET /auth/token`` (HTCToken)."""

    token_value: SecretText
    expires_in: int | None = None


TokenPayload: TypeAlias = str
"""The bearer token's payload from ``GET /auth/token/whoami`` (HTCTokenPayload): a string."""


class OAuth2Token(APIModel):
    """An OAuth2 client-credentials token (OAuth2Token); its wire names are snake_case."""

    access_token: SecretText | None = Field(None, alias="access_token")
    expires_in: int | None = Field(None, alias="expires_in")
    token_type: str | None = Field(None, alias="token_type")


class Organization(APIModel):
    """The organization a user belongs to (Organization)."""

    can_view_organization_jobs: bool | None = None
    code: str | None = None


class Workspace(APIModel):
    """The workspace a user belongs to (Workspace)."""

    id: str | None = None
    name: str | None = None


class User(APIModel):
    """The calling user and their roles (RescaleUser)."""

    email: str | None = None
    full_name: str | None = None
    user_id: str | None = None
    organization: Organization | None = None
    workspace: Workspace | None = None
    is_organization_admin: bool | None = None
    is_rescale_admin: bool | None = None
    is_superuser: bool | None = None
    is_workspace_admin: bool | None = None
    organization_admin: bool | None = None
    rescale_admin: bool | None = None
    superuser: bool | None = None
    workspace_admin: bool | None = None


class FeatureFlag(APIModel):
    """One feature flag and whether it is on (RescaleFlag)."""

    name: str | None = None
    value: bool | None = None


class FeatureFlags(APIModel):
    """The feature flags enabled for a user (FeatureFlagsResult)."""

    count: int | None = None
    results: list[FeatureFlag] | None = None


class WhoAmI(APIModel):
    """Who the API key or refresh token belongs to, from ``GET /auth/whoami`` (WhoAmI)."""

    user: User | None = None
    user_features: FeatureFlags | None = None


class Key(APIModel):
    """A key as Java serialises it: algorithm, format and base64 encoding (Key)."""

    algorithm: str | None = None
    encoded: str | None = None
    format: str | None = None


class PublicKey(Key):
    """A public key as Java serialises it (PublicKey)."""


class JsonWebKey(APIModel):
    """One signing key (JsonWebKey).

    The spec describes a Java object (``keyType``, ``keyId``...); the service sends RFC 7517
    members (``kty``, ``kid``, ``alg``, ``n``, ``e``...), so both are declared.
    """

    algorithm: str | None = None
    key: Key | None = None
    key_id: str | None = None
    key_ops: list[str] | None = None
    key_type: str | None = None
    other_parameters: dict[str, Any] | None = None
    public_key: PublicKey | None = None
    use: str | None = None
    kty: str | None = None
    kid: str | None = None
    alg: str | None = None
    n: str | None = None
    e: str | None = None
    crv: str | None = None
    x: str | None = None
    y: str | None = None


class JsonWebKeySet(APIModel):
    """The keys that sign bearer JWTs, from ``GET /.well-known/jwks.json`` (JsonWebKeySet)."""

    keys: list[JsonWebKey] | None = None
    json_web_keys: list[JsonWebKey] | None = None
