"""Presigned PUT URLs (AWS Signature Version 4, query form) for the emulator's storage."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from urllib.parse import quote, urlsplit

__all__ = ["presigned_put_url"]


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def presigned_put_url(
    endpoint: str,
    bucket: str,
    key: str,
    credentials: dict[str, str],
    *,
    region: str,
    expires_in: int,
    now: datetime | None = None,
) -> str:
    """A URL that lets a plain HTTP PUT store ``key`` in ``bucket`` (path style) for
    ``expires_in`` seconds, signed with ``credentials`` (the ``AWS_*`` variables).
    """
    moment = now or datetime.now(timezone.utc)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{moment:%Y%m%d}/{region}/s3/aws4_request"
    path = f"/{quote(bucket)}/{quote(key, safe='/~')}"
    params = {
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{credentials['AWS_ACCESS_KEY_ID']}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires_in),
        "X-Amz-Security-Token": credentials["AWS_SESSION_TOKEN"],
        "X-Amz-SignedHeaders": "host",
    }
    query = "&".join(
        f"{quote(name, safe='~')}={quote(value, safe='~')}"
        for name, value in sorted(params.items())
    )
    host = urlsplit(endpoint).netloc
    canonical = "\n".join(["PUT", path, query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    signing_key = ("AWS4" + credentials["AWS_SECRET_ACCESS_KEY"]).encode()
    for part in (f"{moment:%Y%m%d}", region, "s3", "aws4_request"):
        signing_key = _hmac(signing_key, part)
    signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{endpoint.rstrip('/')}{path}?{query}&X-Amz-Signature={signature}"
