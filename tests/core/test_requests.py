"""The public low-level verbs (``request``, ``get``, ``post``, ``put``, ``patch``, ``delete``,
``paginate``): parsed bodies, and the whole pipeline (auth, retries, error tree) behind them.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from support import BASE_URL, TokenEndpoint, client, mock_api, no_sleep_client

from rescale_async import (
    AsyncPaginator,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
)


class Widget(BaseModel):
    name: str
    size: int = 0


def echo(request: httpx.Request) -> httpx.Response:
    """The request as the API saw it: method, query, JSON body and Authorization header."""
    form = request.headers.get("Content-Type") == "application/x-www-form-urlencoded"
    body = request.content.decode() if form else json.loads(request.content or b"null")
    return httpx.Response(
        200,
        json={
            "method": request.method,
            "params": dict(request.url.params),
            "body": body,
            "auth": request.headers.get("Authorization"),
        },
    )


async def test_request_returns_the_response_or_the_body_parsed_as_cast_to() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/widgets/w-1").mock(
            return_value=httpx.Response(200, json={"name": "w-1", "size": 3, "extra": True})
        )
        router.get("/widgets").mock(
            side_effect=[
                httpx.Response(200, json=[{"name": "a"}, {"name": "b", "size": 2}]),
                httpx.Response(200, json=[{"name": "a"}]),
                httpx.Response(200, json=[{"name": "a"}, {"size": 1}]),
            ]
        )
        async with client() as c:
            response = await c.request("GET", "widgets/w-1")
            assert isinstance(response, httpx.Response)
            assert response.status_code == 200
            assert response.json()["name"] == "w-1"

            widget = await c.request("GET", "widgets/w-1", cast_to=Widget)
            assert widget == Widget(name="w-1", size=3)

            raw = await c.request("GET", "widgets/w-1", cast_to=dict[str, Any])
            assert raw == {"name": "w-1", "size": 3, "extra": True}

            widgets = await c.request("GET", "widgets", cast_to=list[Widget])
            assert widgets == [Widget(name="a"), Widget(name="b", size=2)]

            with pytest.raises(ResponseValidationError, match="body: Input should be an object"):
                await c.request("GET", "widgets", cast_to=Widget)
            with pytest.raises(ResponseValidationError, match=r"1\.name: Field required"):
                await c.request("GET", "widgets", cast_to=list[Widget])


async def test_the_shorthands_send_their_method_params_and_body() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        route = router.route(path="/things/t-1").mock(side_effect=echo)
        async with client() as c:
            got = await c.get("things/t-1", params={"a": 1}, cast_to=dict[str, Any])
            assert (got["method"], got["params"], got["body"]) == ("GET", {"a": "1"}, None)
            for verb in (c.post, c.put, c.patch):
                got = await verb("things/t-1", params={"b": "x"}, json={"n": 2}, cast_to=dict)
                assert got["params"] == {"b": "x"}
                assert got["body"] == {"n": 2}
            deleted = await c.delete("things/t-1", params={"force": "true"})
            assert isinstance(deleted, httpx.Response)
            assert deleted.json()["method"] == "DELETE"
            assert deleted.json()["params"] == {"force": "true"}
            sent = await c.request("POST", "things/t-1", data={"grant": "x"})
            assert sent.json()["method"] == "POST"
    methods = [call.request.method for call in route.calls]
    assert methods == ["GET", "POST", "PUT", "PATCH", "DELETE", "POST"]
    assert route.calls[-1].request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert route.calls[-1].request.content == b"grant=x"


async def test_the_verbs_go_through_auth_and_leave_out_params_that_are_none() -> None:
    tokens = TokenEndpoint()
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=tokens)
        route = router.route(path="/things/t-1").mock(side_effect=echo)
        async with client() as c:
            got = await c.get("/things/t-1", params={"kept": "k", "gone": None}, cast_to=dict)
            assert got["auth"] == f"Bearer {tokens.issued[0]}"
            assert got["params"] == {"kept": "k"}
            got = await c.post("/things/t-1", params={"gone": None}, json={}, cast_to=dict)
            assert got["params"] == {} and got["body"] == {}
            response = await c.request(
                "GET", "things/t-1", headers={"X-Extra": "1"}, params={"only": None}
            )
            assert response.json()["params"] == {}
    assert tokens.calls == 1
    assert [str(call.request.url) for call in route.calls[:2]] == [
        f"{BASE_URL}/things/t-1?kept=k",
        f"{BASE_URL}/things/t-1",
    ]
    assert route.calls[2].request.headers["X-Extra"] == "1"
    assert route.calls[2].request.headers["Accept"] == "application/json"


async def test_a_get_is_retried_on_503_and_a_post_is_not() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        get = router.get("/flaky").mock(
            side_effect=[httpx.Response(503), httpx.Response(200, json={"name": "ok"})]
        )
        post = router.post("/flaky").mock(return_value=httpx.Response(503))
        delays: list[float] = []
        async with no_sleep_client(delays) as c:
            assert await c.get("flaky", cast_to=Widget) == Widget(name="ok")
            assert get.call_count == 2 and len(delays) == 1
            with pytest.raises(InternalServerError) as info:
                await c.post("flaky", json={"name": "x"}, cast_to=Widget)
            assert info.value.status_code == 503
            assert post.call_count == 1 and len(delays) == 1
            # A view's options apply to its verbs.
            get.side_effect = [httpx.Response(503)]
            with pytest.raises(InternalServerError):
                await c.with_options(max_retries=0).get("flaky", cast_to=Widget)
            assert get.call_count == 3


async def test_the_verbs_raise_the_error_tree() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/missing").mock(
            return_value=httpx.Response(
                404, json={"error": "not_found", "errorDescription": "no such thing"}
            )
        )
        router.delete("/missing").mock(return_value=httpx.Response(404))
        router.put("/slow-down").mock(
            return_value=httpx.Response(429, headers={"Retry-After": "3600"})
        )
        async with client() as c:
            with pytest.raises(NotFoundError, match="GET /api/v1/missing -> 404: no such thing"):
                await c.get("/missing", cast_to=Widget)
            with pytest.raises(NotFoundError, match="no such thing"):
                await c.request("GET", "missing")
            with pytest.raises(NotFoundError):
                await c.delete("missing")
            with pytest.raises(RateLimitError) as info:
                await c.put("slow-down", json={}, cast_to=dict)
            assert info.value.retry_after == 3600


async def test_paginate_walks_an_items_next_listing() -> None:
    def pages(request: httpx.Request) -> httpx.Response:
        index = int(request.url.params.get("pageIndex", "0"))
        assert request.url.params["kind"] == "round"
        assert "gone" not in request.url.params
        size = int(request.url.params["pageSize"])
        names = [f"w{n}" for n in range(5)][index : index + size]
        body: dict[str, Any] = {"items": [{"name": name, "size": len(name)} for name in names]}
        if index + size < 5:
            body["next"] = f"{BASE_URL}/widgets?pageIndex={index + size}&pageSize={size}"
        return httpx.Response(200, json=body)

    tokens = TokenEndpoint()
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=tokens)
        route = router.get("/widgets").mock(side_effect=pages)
        async with client() as c:
            listing = c.paginate(
                "/widgets", Widget, params={"kind": "round", "gone": None}, page_size=2
            )
            assert isinstance(listing, AsyncPaginator)
            first = await listing
            assert [w.name for w in first.items] == ["w0", "w1"] and first.next
            widgets = [w async for w in listing]
            assert [w.name for w in widgets] == ["w0", "w1", "w2", "w3", "w4"]
            assert all(isinstance(w, Widget) and w.size == 2 for w in widgets)
            limited = await c.paginate(
                "widgets", Widget, params={"kind": "round"}, limit=3
            ).to_list()
            assert [w.name for w in limited] == ["w0", "w1", "w2"]
    assert tokens.calls == 1
    assert all(
        call.request.headers["Authorization"] == f"Bearer {tokens.issued[0]}"
        for call in route.calls
    )
