"""``unverified_claims``: a JWT's payload without PyJWT, as PyJWT would read it unverified."""

from __future__ import annotations

import base64

import jwt
import pytest

from rescale_async._core.claims import unverified_claims


def _segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_claims_are_read_as_pyjwt_reads_them_unverified() -> None:
    token = jwt.encode({"sub": "u-1", "exp": 2_000_000_000, "name": "é"}, "k" * 32)
    assert unverified_claims(token) == jwt.decode(token, options={"verify_signature": False})


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("not-a-jwt", "three dot-separated parts"),
        ("a.b.c.d", "three dot-separated parts"),
        (f"h.{_segment(b'not json')}.s", "base64url-encoded JSON"),
        ("h.!!!.s", "base64url-encoded JSON"),
        (f"h.{_segment(b'[1, 2]')}.s", "a JSON object"),
    ],
)
def test_what_is_not_a_jwt_is_refused(token: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        unverified_claims(token)
