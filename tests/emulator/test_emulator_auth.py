"""Auth: API keys and refresh tokens for RS256 bearer JWTs, the JWKS, 401 bodies, whoami."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from emulator_support import running

from rescale_async import AuthenticationError, HTCClient


async def test_api_key_gives_a_jwt_the_jwks_verifies() -> None:
    async with running(token_lifetime=1234) as emu, emu.http() as http:
        response = await http.get("auth/token", headers={"Authorization": f"Token {emu.api_key}"})
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"tokenValue", "expiresIn"}
        assert body["expiresIn"] == 1234
        jwks = (await http.get(".well-known/jwks.json")).json()
        [key] = jwks["keys"]
        assert key["kty"] == "RSA"
        assert key["alg"] == "RS256"
        assert key["kid"]
        token = body["tokenValue"]
        assert jwt.get_unverified_header(token)["kid"] == key["kid"]
        signing = jwt.PyJWKSet.from_dict(jwks).keys[0]
        claims = jwt.decode(token, signing.key, algorithms=["RS256"])
        assert claims["sub"] == emu.config.user_id
        assert claims["workspaceId"] == emu.config.workspace_id
        assert claims["exp"] - claims["iat"] == 1234

        whoami = await http.get("auth/whoami", headers={"Authorization": f"Token {emu.api_key}"})
        user = whoami.json()["user"]
        assert user["userId"] == emu.config.user_id
        assert user["workspace"] == {"id": "04-emulator", "name": "Emulator Workspace"}
        payload = await http.get("auth/token/whoami", headers={"Authorization": f"Bearer {token}"})
        assert isinstance(payload.json(), str)  # HTCTokenPayload is a string
        assert json.loads(payload.json())["userId"] == emu.config.user_id


async def test_refused_credentials_get_401_with_the_oauth2_error_body() -> None:
    foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    async with running() as emu, emu.http() as http:
        kid = emu.jwks()["keys"][0]["kid"]
        now = int(time.time())
        expired = emu.issue_token(lifetime=-10)
        foreign = jwt.encode(
            {"sub": "x", "iat": now, "exp": now + 600},
            foreign_key,
            algorithm="RS256",
            headers={"kid": kid},
        )
        cases = {
            None: "Full authentication is required",
            f"Bearer {expired}": "Jwt expired at",
            f"Bearer {foreign}": "Signed JWT rejected",
            "Bearer not.a.jwt": "decode the Jwt",
            f"Token {emu.api_key}": "Bearer",  # the wrong scheme for a resource
        }
        for header, description in cases.items():
            headers = {"Authorization": header} if header else {}
            response = await http.get("htc/projects", headers=headers)
            assert response.status_code == 401, header
            body = response.json()
            assert set(body) == {"error", "errorDescription"}
            assert description in body["errorDescription"], body
            assert response.headers["www-authenticate"].startswith("Bearer")
        for header in ("Token wrong-key", "Refresh wrong-token", "Basic abc"):
            response = await http.get("auth/token", headers={"Authorization": header})
            assert response.status_code == 401
            assert set(response.json()) == {"error", "errorDescription"}


async def test_revoked_tokens_and_lifetime_changes_are_followed_by_the_sdk() -> None:
    async with running() as emu:
        emu.counters.reset()
        async with emu.client() as client:
            await client.projects.get(emu.project_id)
            emu.revoke_tokens()  # the client's token is refused once, then renewed
            await client.projects.get(emu.project_id)
            assert emu.counters.requests["GET /auth/token"] == 2
            assert emu.counters.responses[("GET /htc/projects/{projectId}", 401)] == 1
        emu.faults.token_lifetime = 60
        async with emu.client() as client:
            token = await client.auth.bearer_token()
            assert token.claims["exp"] - token.claims["iat"] == 60
            verified = await client.auth.verify(token)
            assert verified.claims["sub"] == emu.config.user_id
        async with HTCClient(
            api_key="wrong", base_url=emu.base_url, transport=emu.transport()
        ) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.projects.get(emu.project_id)
            assert caught.value.status_code == 401


async def test_oauth2_client_credentials() -> None:
    async with running() as emu, emu.http() as http:
        response = await http.post(
            "oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": emu.config.oauth_client_id,
                "client_secret": emu.api_key,
            },
        )
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "Bearer"
        projects = await http.get(
            "htc/projects", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert projects.status_code == 200
        basic = await http.post(
            "oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(emu.config.oauth_client_id, emu.api_key),
        )
        assert basic.status_code == 200
        for data in (
            {"grant_type": "password"},
            {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        ):
            refused = await http.post("oauth2/token", data=data)
            assert refused.status_code == 400
            assert set(refused.json()) == {"error", "errorDescription"}


async def test_configured_keys_and_refresh_tokens() -> None:
    async with running(api_keys=("k-1", "k-2"), refresh_tokens=("r-1",)) as emu:
        assert emu.api_key == "k-1"
        async with emu.client(api_key="k-2") as client:
            assert (await client.projects.get(emu.project_id)).project_id == emu.project_id
        async with HTCClient(
            refresh_token="r-1", base_url=emu.base_url, transport=emu.transport()
        ) as client:
            assert (await client.projects.get(emu.project_id)).project_id == emu.project_id
