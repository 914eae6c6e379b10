"""Helpers for the resource tests: a mocked API behind a client, spec-shaped payloads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import respx
from htc_spec import EXTRA_REQUIRED, MISSING, ExampleBuilder, spec
from support import BASE_URL, TokenEndpoint, client, mock_api

from rescale_async import HTCClient

PID = "proj-1"
TID = "task-1"
JID = "parent-1:0"
TASK = f"/htc/projects/{PID}/tasks/{TID}"


def example(schema: str, full: bool = False, **overrides: Any) -> Any:
    """A response payload for ``schema`` from the patched spec's own examples (the properties
    the SDK needs filled in; with ``full``, every property), with ``overrides`` on top.
    Skips the test when the spec is absent.
    """
    builder = ExampleBuilder(
        spec("patched"), synthesize=full, omit="writeOnly", extra_required=EXTRA_REQUIRED
    )
    payload = builder.build({"$ref": f"#/components/schemas/{schema}"})
    assert payload is not MISSING, f"the spec gives no example for {schema}"
    return {**payload, **overrides} if overrides else payload


def page(items: list[Any], next_path: str | None = None) -> dict[str, Any]:
    """An ``{items, next}`` page whose ``next`` is ``next_path`` on the test API."""
    body: dict[str, Any] = {"items": items}
    if next_path is not None:
        body["next"] = BASE_URL + next_path
    return body


@asynccontextmanager
async def api() -> AsyncIterator[tuple[respx.MockRouter, HTCClient]]:
    """A respx router with a token endpoint, and a client talking to it."""
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        async with client() as c:
            yield router, c


def sent(route: respx.Route) -> Any:
    """The JSON body of the route's last request."""
    return json.loads(route.calls.last.request.content)


def query(route: respx.Route, call: int = -1) -> list[tuple[str, str]]:
    """The query parameters of one of the route's requests, in order, repeats kept."""
    return list(route.calls[call].request.url.params.multi_items())
