"""The async paginator: lazy items, pages, first page, page_size/limit, next-link safety."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from support import BASE_URL, TokenEndpoint, client, mock_api

from rescale_async import PaginationError


class Item(dict[str, Any]):
    pass


def pages_of(items: list[int], size: int, *, empty_every: int = 0) -> Any:
    """A side effect serving ``items`` in pages of ``size`` with opaque tokens."""
    served: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        served.append(str(request.url))
        index = int(request.url.params.get("pageIndex", "0"))
        size_asked = int(request.url.params.get("pageSize", str(size)))
        if empty_every and index and index % empty_every == 0 and "empty" not in request.url.params:
            nxt = request.url.copy_merge_params({"empty": "1"})
            return httpx.Response(200, json={"items": [], "next": str(nxt)})
        chunk = items[index : index + size_asked]
        body: dict[str, Any] = {"items": [{"n": n} for n in chunk]}
        if index + size_asked < len(items):
            body["next"] = f"{BASE_URL}/things?pageIndex={index + size_asked}&pageSize={size_asked}"
        return httpx.Response(200, json=body)

    handler.served = served  # type: ignore[attr-defined]
    return handler


async def test_iterates_every_item_lazily_and_in_pages() -> None:
    handler = pages_of(list(range(25)), 10)
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/things").mock(side_effect=handler)
        async with client() as c:
            paginator = c.paginate("things", dict, page_size=10)
            first = await paginator
            assert [i["n"] for i in first.items] == list(range(10)) and first.next
            assert len(handler.served) == 1
            seen = [item["n"] async for item in paginator]
            assert seen == list(range(25))
            sizes = [len(page.items) async for page in paginator.pages()]
            assert sizes == [10, 10, 5]
            # Lazy: breaking early fetches no more pages.
            handler.served.clear()
            async for item in c.paginate("things", dict, page_size=10):
                if item["n"] == 3:
                    break
            assert len(handler.served) == 1


async def test_limit_caps_items_and_page_size() -> None:
    handler = pages_of(list(range(100)), 10)
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/things").mock(side_effect=handler)
        async with client() as c:
            assert [i["n"] async for i in c.paginate("things", dict, limit=3)] == [
                0,
                1,
                2,
            ]
            assert "pageSize=3" in handler.served[-1]
            got = await c.paginate("things", dict, page_size=10, limit=25).to_list()
            assert [i["n"] for i in got] == list(range(25))
            assert [i async for i in c.paginate("things", dict, limit=0)] == []
    with pytest.raises(ValueError, match="page_size must be >= 1"):
        c.paginate("things", dict, page_size=0)
    with pytest.raises(ValueError, match="limit must be >= 0"):
        c.paginate("things", dict, limit=-1)


async def test_empty_page_with_next_is_not_the_end() -> None:
    handler = pages_of(list(range(30)), 5, empty_every=10)
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/things").mock(side_effect=handler)
        async with client() as c:
            seen = [i["n"] async for i in c.paginate("things", dict, page_size=5)]
    assert seen == list(range(30))
    assert any("empty=1" in url for url in handler.served)


async def test_next_keeps_query_params_it_dropped() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "pageIndex" not in request.url.params:
            return httpx.Response(
                200, json={"items": [{"n": 1}], "next": f"{BASE_URL}/things?pageIndex=t2"}
            )
        assert request.url.params["status"] == "RUNNING"
        assert request.url.params["pageSize"] == "1"
        return httpx.Response(200, json={"items": [{"n": 2}]})

    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/things").mock(side_effect=handler)
        async with client() as c:
            got = c.paginate("things", dict, params={"status": "RUNNING", "x": None}, page_size=1)
            assert [i["n"] async for i in got] == [1, 2]


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/api/v1/things?pageIndex=2",
        "http://htc.test/api/v1/things?pageIndex=2",
        "https://htc.test:8443/api/v1/things?pageIndex=2",
    ],
)
async def test_foreign_next_link_is_refused(link: str) -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/things").mock(
            return_value=httpx.Response(200, json={"items": [{"n": 1}], "next": link})
        )
        async with client() as c:
            items = c.paginate("things", dict).__aiter__()
            assert (await items.__anext__())["n"] == 1
            with pytest.raises(PaginationError, match="refusing to follow a next link"):
                await items.__anext__()


async def test_relative_next_link_resolves_against_base() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "pageIndex" not in request.url.params:
            return httpx.Response(
                200, json={"items": [{"n": 1}], "next": "/api/v1/things?pageIndex=2"}
            )
        return httpx.Response(200, json={"items": [{"n": 2}]})

    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/things").mock(side_effect=handler)
        async with client() as c:
            assert [i["n"] async for i in c.paginate("things", dict)] == [1, 2]
