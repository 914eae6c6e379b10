"""Status codes map onto the documented exception tree with useful messages."""

from __future__ import annotations

import httpx
import pytest
from support import TokenEndpoint, mock_api, no_sleep_client

import rescale_async
from rescale_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RescaleError,
    UnprocessableEntityError,
)
from rescale_async._core import exceptions


@pytest.mark.parametrize(
    ("status", "body", "kind", "message"),
    [
        (
            400,
            {"errorType": "VALIDATION", "errorDescription": "maxVCpus too big", "message": "m"},
            BadRequestError,
            "maxVCpus too big",
        ),
        (
            401,
            {"error": "invalid_token", "errorDescription": "expired"},
            AuthenticationError,
            "expired",
        ),
        (403, None, PermissionDeniedError, "Forbidden"),
        (
            404,
            {"error": "not_found", "errorDescription": "no such task"},
            NotFoundError,
            "no such task",
        ),
        (409, {"message": "exists"}, ConflictError, "exists"),
        (418, "I'm a teapot body", APIStatusError, "I'm a teapot body"),
        (422, {"detail": "bad"}, UnprocessableEntityError, "bad"),
        (429, {"error": "slow"}, RateLimitError, "slow"),
        (500, None, InternalServerError, "Internal Server Error"),
        (503, {"message": ""}, InternalServerError, "Service Unavailable"),
    ],
)
async def test_status_maps_to_exception(
    status: int, body: object, kind: type[APIStatusError], message: str
) -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        response = (
            httpx.Response(status)
            if body is None
            else (
                httpx.Response(status, text=body)
                if isinstance(body, str)
                else httpx.Response(status, json=body)
            )
        )
        router.put("/thing").mock(return_value=response)
        async with no_sleep_client(max_retries=0) as c:
            with pytest.raises(kind) as info:
                await c.request("PUT", "thing")
    error = info.value
    assert type(error) is kind
    assert error.status_code == status
    assert error.body == body
    assert error.message == message
    assert str(error) == f"PUT /api/v1/thing -> {status}: {message}"
    assert error.response.status_code == status and error.request.method == "PUT"


async def test_connection_errors() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get("/a").mock(side_effect=httpx.ConnectError("refused"))
        router.get("/b").mock(side_effect=httpx.ReadTimeout("slow"))
        async with no_sleep_client(max_retries=1) as c:
            with pytest.raises(
                APIConnectionError, match="GET /api/v1/a: ConnectError: refused"
            ) as conn:
                await c.request("GET", "a")
            assert not isinstance(conn.value, APITimeoutError)
            with pytest.raises(APITimeoutError, match="GET /api/v1/b: request timed out"):
                await c.request("GET", "b")


def test_exception_tree_is_exported_and_documented() -> None:
    doc = exceptions.__doc__ or ""
    for name in exceptions.__all__:
        error = getattr(rescale_async, name)
        assert issubclass(error, RescaleError)
        assert name in doc
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(ConfigurationError, RescaleError)
    for kind in (BadRequestError, AuthenticationError, RateLimitError, InternalServerError):
        assert issubclass(kind, APIStatusError)


def test_an_html_error_page_becomes_a_one_line_message() -> None:
    page = "<html>\r\n<head><title>502 Bad\n Gateway</title></head>\r\n<body>...</body></html>"
    request = httpx.Request("GET", "https://htc.test/api/v1/htc/projects")
    error = exceptions.status_error(httpx.Response(502, text=page, request=request))
    assert str(error) == "GET /api/v1/htc/projects -> 502: 502 Bad Gateway"
    plain = exceptions.status_error(
        httpx.Response(500, text=" down \n for maintenance ", request=request)
    )
    assert plain.message == "down for maintenance"
