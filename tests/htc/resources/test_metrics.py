"""``client.metrics``: the text/plain metrics endpoint."""

from __future__ import annotations

from resource_support import api

METRICS = "# TYPE htc_jobs_submitted counter\nhtc_jobs_submitted 42\n"


async def test_get_returns_the_text() -> None:
    async with api() as (router, c):
        route = router.get("/htc/metrics").respond(
            text=METRICS, headers={"Content-Type": "text/plain"}
        )
        text = await c.metrics.get()
    request = route.calls.last.request
    assert (request.method, request.url.query) == ("GET", b"")
    assert request.headers["Accept"] == "text/plain"
    assert request.headers["Authorization"].startswith("Bearer ")
    assert text == METRICS
