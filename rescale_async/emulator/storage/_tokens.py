"""The emulator's storage credentials: per-token access keys and signed session tokens.

Real storage tokens are short-lived STS credentials: an access key id, a secret and a session
token that S3 itself checks for expiry. moto accepts any key, so the emulator mints session
tokens that say what they grant (bucket, key prefix) and until when, signed with a secret it
shares with the storage gate in front of moto (``_gate``), which refuses expired, revoked,
forged or out-of-scope ones as S3 would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["SESSION_TOKEN_PREFIX", "Grant", "InvalidSessionToken", "mint", "read_session_token"]

SESSION_TOKEN_PREFIX = "emu-sts1."  # noqa: S105 - a format marker, not a secret
_KEY_ALPHABET = string.ascii_uppercase + string.digits


class InvalidSessionToken(Exception):
    """A session token the gate cannot read or whose signature does not check out."""


@dataclass(frozen=True)
class Grant:
    """What a session token grants: ``access_key_id`` may reach keys under ``prefix`` of
    ``bucket`` from ``issued_at`` until ``expires_at`` (UNIX seconds).
    """

    access_key_id: str
    bucket: str
    prefix: str
    issued_at: float
    expires_at: float

    def expired(self, now: float, revoked_before: float) -> bool:
        """Whether the token is unusable at ``now`` (expired, or issued before a revocation)."""
        return now >= self.expires_at or self.issued_at < revoked_before

    def covers(self, bucket: str, key: str) -> bool:
        """Whether ``key`` of ``bucket`` (an object key or a listing prefix) is in the grant."""
        return bucket == self.bucket and key.startswith(self.prefix)


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    return _encode(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def mint(
    secret: str, *, bucket: str, prefix: str, lifetime: float, now: float | None = None
) -> tuple[dict[str, str], float]:
    """New credentials for keys under ``prefix`` of ``bucket``, valid ``lifetime`` seconds:
    the ``AWS_*`` variables of a storage token, and when they expire (UNIX seconds).
    """
    issued = time.time() if now is None else now
    access_key_id = "ASIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    claims = {
        "akid": access_key_id,
        "bucket": bucket,
        "prefix": prefix,
        "iat": issued,
        "exp": issued + lifetime,
    }
    payload = _encode(json.dumps(claims, separators=(",", ":")).encode())
    token = f"{SESSION_TOKEN_PREFIX}{payload}.{_signature(secret, payload)}"
    credentials = {
        "AWS_ACCESS_KEY_ID": access_key_id,
        "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
        "AWS_SESSION_TOKEN": token,
    }
    return credentials, issued + lifetime


def read_session_token(secret: str, token: str) -> Grant:
    """The grant ``token`` carries; InvalidSessionToken when it is malformed or forged."""
    if not token.startswith(SESSION_TOKEN_PREFIX):
        raise InvalidSessionToken("not a session token of this emulator")
    payload, _, signature = token[len(SESSION_TOKEN_PREFIX) :].partition(".")
    if not hmac.compare_digest(signature, _signature(secret, payload)):
        raise InvalidSessionToken("bad signature")
    try:
        claims: dict[str, Any] = json.loads(_decode(payload))
        return Grant(
            access_key_id=str(claims["akid"]),
            bucket=str(claims["bucket"]),
            prefix=str(claims["prefix"]),
            issued_at=float(claims["iat"]),
            expires_at=float(claims["exp"]),
        )
    except (ValueError, KeyError, TypeError):
        raise InvalidSessionToken("unreadable claims") from None
