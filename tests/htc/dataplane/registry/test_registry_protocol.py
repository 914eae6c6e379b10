"""The registry protocol's edges, against a scripted registry (``httpx.MockTransport``): what
is resent after a 401 and how often, bearer realms that misbehave, redirects that may not be
followed, transport failures and lost upload sessions.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import httpx
import pytest
from pydantic import SecretStr
from registry_support import small_layout

from rescale_async import APIConnectionError, APITimeoutError, ClientOptions
from rescale_async.htc.dataplane import PushProgress, RegistryError
from rescale_async.htc.dataplane.registry._auth import (
    RegistryAuth,
    RegistryPassword,
    parse_challenge,
)
from rescale_async.htc.dataplane.registry._retry import RetryRules
from rescale_async.htc.dataplane.registry._session import RegistrySession
from rescale_async.htc.dataplane.registry._source import Blob, load_image
from rescale_async.htc.dataplane.registry._upload import Transfers

ORIGIN = httpx.URL("http://127.0.0.1:5000/")
NAME = "rescale/p-1/app"
Handler = Callable[[httpx.Request], httpx.Response]


class Scripted:
    """A registry answering from ``handler``, counting token fetches and requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []
        self.tokens = 0
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self._answer))

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    async def _token(self) -> SecretStr:
        self.tokens += 1
        return SecretStr(f"token-{self.tokens}")

    def session(self) -> RegistrySession:
        auth = RegistryAuth(self.http, RegistryPassword(self._token), NAME)
        return RegistrySession(self.http, ORIGIN, NAME, auth)

    def transfers(self, **options: object) -> Transfers:
        async def no_wait(_: float) -> None:
            await anyio.lowlevel.checkpoint()

        settings = ClientOptions(sleep=no_wait, **options)  # type: ignore[arg-type]
        return Transfers(
            self.session(), RetryRules(settings), chunk_size=None, hook=None, blobs_total=1
        )


def url(path: str) -> httpx.URL:
    return ORIGIN.join(f"/v2/{NAME}/{path}")


def test_challenges_are_parsed_with_quoted_and_bare_values() -> None:
    challenge = parse_challenge('Bearer realm="https://auth.example/token",service=reg,scope="a b"')
    assert challenge is not None and challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example/token",
        "service": "reg",
        "scope": "a b",
    }
    assert parse_challenge("") is None and parse_challenge(None) is None


async def test_basic_is_renewed_once_per_request_then_the_401_is_told() -> None:
    registry = Scripted(lambda _: httpx.Response(401, headers={"www-authenticate": "Basic"}))
    response = await registry.session().send("HEAD", url("blobs/sha256:1"))
    assert response.status_code == 401
    assert len(registry.requests) == 2 and registry.tokens == 2
    assert [r.headers["authorization"] for r in registry.requests] == [
        "Basic QVdTOnRva2VuLTE=",  # AWS:token-1
        "Basic QVdTOnRva2VuLTI=",
    ]


async def test_an_unknown_challenge_is_not_answered() -> None:
    registry = Scripted(lambda _: httpx.Response(401, headers={"www-authenticate": "Negotiate"}))
    assert (await registry.session().send("HEAD", url("blobs/x"))).status_code == 401
    assert len(registry.requests) == 1


def _bearer(realm_answer: Callable[[httpx.Request], httpx.Response], realm: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return realm_answer(request)
        if request.headers.get("authorization", "").startswith("Bearer good"):
            return httpx.Response(200)
        challenge = f'Bearer realm="{realm}",service="svc",scope="repository:{NAME}:pull"'
        return httpx.Response(401, headers={"www-authenticate": challenge})

    return handler


async def test_a_bearer_token_is_got_from_the_realm_for_pull_and_push() -> None:
    registry = Scripted(
        _bearer(
            lambda _: httpx.Response(200, json={"access_token": "good"}), "http://localhost/token"
        )
    )
    assert (await registry.session().send("HEAD", url("blobs/x"))).status_code == 200
    realm = next(r for r in registry.requests if r.url.path == "/token")
    assert realm.url.params.get_list("scope") == [
        f"repository:{NAME}:pull,push",
        f"repository:{NAME}:pull",
    ]
    assert realm.url.params["service"] == "svc"
    assert realm.headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("realm", "answer", "message"),
    [
        ("", lambda _: httpx.Response(200), "without naming a realm"),
        ("http://auth.example/token", lambda _: httpx.Response(200), "only https"),
        ("http://localhost/token", lambda _: httpx.Response(200, json={}), "without a token"),
        ("http://localhost/token", lambda _: httpx.Response(200, text="<html>"), "without a token"),
        ("http://localhost/token", lambda _: httpx.Response(401), "bearer token from the realm"),
    ],
)
async def test_a_realm_that_gives_no_token_is_told(
    realm: str, answer: Callable[[httpx.Request], httpx.Response], message: str
) -> None:
    registry = Scripted(_bearer(answer, realm))
    with pytest.raises(RegistryError, match=message):
        await registry.session().send("HEAD", url("blobs/x"))
    refused = [r for r in registry.requests if r.url.path == "/token"]
    assert registry.tokens == (2 if len(refused) == 2 else 1)  # a realm's 401: renewed once


def _redirecting(location: str, status: int = 307) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "127.0.0.1":
            return httpx.Response(status, headers={"location": location})
        return httpx.Response(200, json={"method": request.method})

    return handler


async def test_redirects_drop_the_credentials_and_303_turns_into_get() -> None:
    registry = Scripted(_redirecting("https://storage.example/blob", 303))
    response = await registry.session().send("POST", url("blobs/uploads/"), body=b"x")
    assert response.json() == {"method": "GET"}
    assert "authorization" in registry.requests[0].headers
    assert "authorization" not in registry.requests[1].headers


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("http://storage.example/blob", "only https"),
        ("/v2/loop", "more than 5 redirects"),
    ],
)
async def test_redirects_that_cannot_be_followed_are_refused(location: str, message: str) -> None:
    registry = Scripted(_redirecting(location))
    with pytest.raises(RegistryError, match=message):
        await registry.session().send("HEAD", url("blobs/x"))


async def test_a_streamed_upload_answered_by_a_redirect_is_refused() -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield b"bytes"

    registry = Scripted(_redirecting("https://storage.example/blob"))
    with pytest.raises(RegistryError, match="cannot be resent"):
        await registry.session().send("PUT", url("blobs/uploads/1"), body=stream())


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
    ],
)
async def test_transport_failures_are_retried_then_told(
    error: httpx.TransportError, raised: type[Exception]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    registry = Scripted(handler)
    blob = Blob("sha256:" + "0" * 64, 1, "application/octet-stream", None)  # type: ignore[arg-type]
    with pytest.raises(raised):
        await registry.transfers(max_retries=2).exists(blob)
    assert len(registry.requests) == 3


async def test_a_lost_upload_session_starts_a_new_one(tmp_path: Path) -> None:
    plan = load_image(small_layout(tmp_path))
    blob = plan.blobs[0]
    puts = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal puts
        if request.method == "POST":
            return httpx.Response(
                202, headers={"location": f"/v2/{NAME}/blobs/uploads/s{puts}?_state=x"}
            )
        puts += 1
        if puts == 1:
            body = {"errors": [{"code": "BLOB_UPLOAD_UNKNOWN", "message": "gone"}]}
            return httpx.Response(404, json=body)
        assert request.url.params["_state"] == "x" and request.url.params["digest"] == blob.digest
        return httpx.Response(201)

    registry = Scripted(handler)
    seen: list[PushProgress] = []

    async def hook(progress: PushProgress) -> None:  # an async hook is awaited
        seen.append(progress)

    transfers = registry.transfers()
    transfers.progress.hook = hook
    await transfers.upload(blob)
    assert [r.method for r in registry.requests] == ["POST", "PUT", "POST", "PUT"]
    assert seen[-1].blobs_done == 1 and seen[-1].bytes_sent == blob.size


async def test_an_upload_session_without_a_location_is_a_registry_error(tmp_path: Path) -> None:
    blob = load_image(small_layout(tmp_path)).blobs[0]
    registry = Scripted(lambda _: httpx.Response(202))
    with pytest.raises(RegistryError, match=r"POST /v2/rescale/p-1/app/blobs/uploads/ -> 202"):
        await registry.transfers().upload(blob)


async def test_an_error_body_is_told_by_its_codes() -> None:
    body = {"errors": [{"code": "DENIED", "message": "no push for you"}]}
    registry = Scripted(lambda _: httpx.Response(403, content=json.dumps(body).encode()))
    with pytest.raises(RegistryError, match="DENIED no push for you") as caught:
        await registry.transfers().exists(Blob("sha256:" + "1" * 64, 1, "x", None))  # type: ignore[arg-type]
    assert caught.value.codes == ("DENIED",) and caught.value.status_code == 403
