"""Signing and checking bearer JWTs (RS256), the JWKS that publishes the key, opaque secrets."""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = [
    "InvalidToken",
    "TokenIssuer",
    "new_private_key",
    "new_secret",
    "private_key_from_pem",
    "private_key_to_pem",
    "shared_private_key",
]

ALGORITHM = "RS256"
ISSUER = "rescale-htc-emulator"


class InvalidToken(Exception):
    """A bearer token the emulator refuses; ``description`` goes into the 401 body."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def new_secret(prefix: str) -> str:
    """A random opaque credential such as an API key or refresh token."""
    return f"{prefix}-{secrets.token_urlsafe(24)}"


def new_private_key() -> rsa.RSAPrivateKey:
    """A new 2048-bit RSA signing key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@lru_cache(maxsize=1)
def shared_private_key() -> rsa.RSAPrivateKey:
    """One RSA key per process for emulators without a database (generating one takes ~50 ms).

    Each emulator still gets its own key id, and only accepts tokens carrying it.
    """
    return new_private_key()


def private_key_from_pem(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the stored signing key is not an RSA key")
    return key


def private_key_to_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


@dataclass
class TokenIssuer:
    """Issues and verifies the emulator's bearer tokens."""

    private_key: rsa.RSAPrivateKey
    kid: str
    revoked_before: float = 0.0
    """Tokens issued (``iat_ms``) before this UNIX time are refused (see ``revoke_all``)."""

    def issue(self, claims: dict[str, Any], lifetime: float) -> str:
        """A signed JWT carrying ``claims`` plus iss/iat/exp/jti, valid ``lifetime`` seconds."""
        now = time.time()
        # Never before the last revocation, even within its millisecond.
        issued_ms = max(int(now * 1000), round(self.revoked_before * 1000))
        payload = {
            "iss": ISSUER,
            "iat": int(now),
            "iat_ms": issued_ms,
            "exp": int(now + lifetime),
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode(payload, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of ``token``; InvalidToken when it is malformed, foreign or expired."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(
                f"An error occurred while attempting to decode the Jwt: {exc}"
            ) from None
        if header.get("kid") != self.kid or header.get("alg") != ALGORITHM:
            raise InvalidToken(
                "An error occurred while attempting to decode the Jwt: Signed JWT rejected: "
                "Another algorithm expected, or no matching key(s) found"
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.private_key.public_key(),
                algorithms=[ALGORITHM],
                options={"require": ["exp", "iat"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            expired = jwt.decode(token, options={"verify_signature": False}).get("exp", 0)
            when = datetime.fromtimestamp(float(expired), tz=timezone.utc)
            raise InvalidToken(
                "An error occurred while attempting to decode the Jwt: "
                f"Jwt expired at {when.strftime('%Y-%m-%dT%H:%M:%SZ')}"
            ) from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(
                f"An error occurred while attempting to decode the Jwt: Signed JWT rejected: {exc}"
            ) from None
        issued_ms = claims.get("iat_ms", int(claims["iat"]) * 1000)
        if issued_ms < self.revoked_before * 1000:
            raise InvalidToken("The token has been revoked")
        return claims

    def revoke_all(self) -> None:
        """Refuse every token issued so far (as after a key rotation or logout)."""
        self.revoked_before = (int(time.time() * 1000) + 1) / 1000

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set publishing the public key (RFC 7517 members)."""
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {"keys": [{**public, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}]}
