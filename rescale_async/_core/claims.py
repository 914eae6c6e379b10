"""A JWT's claims read without verifying its signature (for expiry and the claims a job was
given): plain base64url and JSON, so PyJWT, which costs ~9 MiB of memory to import, is loaded
only to verify a signature.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

__all__ = ["unverified_claims"]


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload of the JWT ``token`` (header.payload.signature); ValueError when ``token``
    is not one.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("a JWT has three dot-separated parts")
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"a JWT's payload is base64url-encoded JSON: {exc}") from None
    if not isinstance(claims, dict):
        raise ValueError("a JWT's payload is a JSON object")
    return claims
