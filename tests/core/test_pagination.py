"""The async paginator: lazy items, pages, first page, page_size/limit, next-link safety."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from pydantic import BaseModel, field_validator
from support import BASE_URL, TokenEndpoint, client, mock_api

from rescale_async import NotFoundError, PaginationError
from rescale_async._core.pagination import next_link_of


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
            # Lazy, one page ahead: breaking out of the first page has fetched the page after
            # it (pipelined pages, issue 11) and no more.
            handler.served.clear()
            async for item in c.paginate("things", dict, page_size=10):
                if item["n"] == 3:
                    break
            assert [url.split("?")[1] for url in handler.served] == [
                "pageSize=10",
                "pageIndex=10&pageSize=10",
            ]


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


# --- pipelined pages (issue 11) -----------------------------------------------------------


def recording_pages(events: list[str], count: int, size: int) -> Any:
    """Pages of ``size`` of ``range(count)``, noting ``sent N`` as the page from N is served."""
    serve = pages_of(list(range(count)), size)

    def handler(request: httpx.Request) -> httpx.Response:
        events.append(f"sent {request.url.params.get('pageIndex', '0')}")
        response: httpx.Response = serve(request)
        return response

    return handler


async def test_the_next_page_is_requested_before_the_current_one_is_parsed() -> None:
    events: list[str] = []

    class Noted(BaseModel):
        n: int

        @field_validator("n")
        @classmethod
        def note(cls, n: int) -> int:
            if n % 10 == 0:
                events.append(f"parsed {n}")
            return n

    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/things").mock(side_effect=recording_pages(events, 25, 10))
        async with client() as c:
            async for item in c.paginate("things", Noted, page_size=10):
                if item.n % 10 == 0:
                    events.append(f"got {item.n}")
    assert events == [
        "sent 0",
        "sent 10",  # on its way while page 0 is parsed
        "parsed 0",
        "got 0",
        "sent 20",
        "parsed 10",
        "got 10",
        "parsed 20",  # the last page: nothing to read ahead
        "got 20",
    ]


@pytest.mark.parametrize(("limit", "requests"), [(25, 3), (20, 2), (10, 1), (3, 1), (None, 10)])
async def test_pages_are_read_ahead_only_while_the_limit_needs_more(
    limit: int | None, requests: int
) -> None:
    handler = pages_of(list(range(100)), 10)
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/things").mock(side_effect=handler)
        async with client() as c:
            got = [i["n"] async for i in c.paginate("things", dict, page_size=10, limit=limit)]
    assert got == list(range(100 if limit is None else limit))
    assert len(handler.served) == requests
    assert len(set(handler.served)) == requests  # no page asked for twice


async def test_an_error_reading_ahead_is_raised_after_the_page_before() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        route = router.get("/things").mock(
            side_effect=[
                httpx.Response(
                    200,
                    json={"items": [{"n": n} for n in range(3)], "next": f"{BASE_URL}/things?p=2"},
                ),
                httpx.Response(404, json={"error": "not_found", "errorDescription": "gone"}),
            ]
        )
        async with client() as c:
            items = c.paginate("things", dict).__aiter__()
            got = [(await items.__anext__())["n"] for _ in range(3)]
            with pytest.raises(NotFoundError):
                await items.__anext__()
    assert got == [0, 1, 2]
    assert route.call_count == 2


async def test_cancelling_stops_the_request_read_ahead() -> None:
    reading_ahead = anyio.Event()
    stopped: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if "p" not in request.url.params:
            return httpx.Response(200, json={"items": [{"n": 0}], "next": f"{BASE_URL}/things?p=2"})
        reading_ahead.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            stopped.append(request.url.params["p"])
            raise
        raise AssertionError("unreachable")

    got: list[int] = []
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/things").mock(side_effect=handler)
        async with client() as c:
            tasks_before = len(anyio.get_running_tasks())

            async def consume() -> None:
                got.extend([i["n"] async for i in c.paginate("things", dict)])

            with anyio.fail_after(10):
                async with anyio.create_task_group() as group:
                    group.start_soon(consume)
                    await reading_ahead.wait()
                    group.cancel_scope.cancel()
            assert len(anyio.get_running_tasks()) == tasks_before
    assert stopped == ["2"]
    # a page is handed out once the page after it has arrived (or failed), so none was
    assert got == []


async def test_breaking_out_leaves_no_task_and_no_request_behind() -> None:
    handler = pages_of(list(range(50)), 10)
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/things").mock(side_effect=handler)
        async with client() as c:
            tasks_before = len(anyio.get_running_tasks())
            async for page in c.paginate("things", dict, page_size=10).pages():
                if page.items[0]["n"] == 10:
                    break
            assert len(anyio.get_running_tasks()) == tasks_before
            await anyio.wait_all_tasks_blocked()  # nothing left could send another request
    assert len(handler.served) == 3  # pages 0 and 10, and 20 read ahead


@pytest.mark.parametrize(
    ("body", "link"),
    [
        (b'{"items":[{"n":1}],"next":"https://h/x?pageIndex=2"}', "https://h/x?pageIndex=2"),
        (b'{"items": [] ,\n "next" : "https://h/x?a=1" }\n', "https://h/x?a=1"),
        (b'{"next":"https://h/x?pageIndex=2","items":[{"n":1}]}', "https://h/x?pageIndex=2"),
        (b'{"items":[],"next":"https:\\/\\/h\\/x?q=\\"a\\\\"}', 'https://h/x?q="a\\'),
        (b'{"items":[{"n":1}]}', None),
        (b'{"items":[],"next":null}', None),
        (b'{"items":[],"next":""}', None),
        (b'{"items":[{"next":"https://evil/"}]}', None),
        (b'{"items":[{"m":"x"}],"more":{"next":"https://evil/"}}', None),
        (b'{"items":[{"m":"\\",\\"next\\":\\"https://evil/\\"}"}]}', None),
        (b'{"\\"next":"https://evil/"}', None),
        (b'{"items":[{"m":"a"}],"next":7}', None),
        (b"not json", None),
        (b'["a","b"]', None),
    ],
)
def test_the_next_link_is_read_from_the_raw_body(body: bytes, link: str | None) -> None:
    assert next_link_of(body) == link
