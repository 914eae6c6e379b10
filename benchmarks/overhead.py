"""``python -m benchmarks.overhead``: the SDK's request path against plain httpx, no network.

Both sides send the same N concurrent GETs to an in-memory ASGI-free transport that answers at
once, so the difference is the SDK's own cost (admission, auth flow, retries bookkeeping,
parsing into models). Each figure is the median of several runs.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import anyio
import httpx

from rescale_async import HTCClient

RUNS = 5
N = 5000
PROJECT = {"projectId": "p-1", "projectName": "demo", "projectDescription": "d"}


def handler(request: httpx.Request) -> httpx.Response:
    if request.url.path.endswith("/auth/token"):
        return httpx.Response(200, json={"tokenValue": "x.y.z", "expiresIn": 21600})
    return httpx.Response(200, content=json.dumps(PROJECT).encode())


async def plain_httpx() -> float:
    async with httpx.AsyncClient(
        base_url="https://bench.test/api/v1/", transport=httpx.MockTransport(handler)
    ) as http:
        limiter = anyio.CapacityLimiter(32)
        start = time.perf_counter()

        async def one() -> None:
            async with limiter:
                (await http.get("htc/projects/p-1")).json()

        async with anyio.create_task_group() as tg:
            for _ in range(N):
                tg.start_soon(one)
        return time.perf_counter() - start


async def sdk() -> float:
    async with HTCClient(
        "bench-key", base_url="https://bench.test/api/v1", transport=httpx.MockTransport(handler)
    ) as client:
        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(N):
                tg.start_soon(client.projects.get, "p-1")
        return time.perf_counter() - start


def main() -> int:
    rows = []
    for backend in ("asyncio", "trio"):
        floor = [anyio.run(plain_httpx, backend=backend) for _ in range(RUNS)]
        ours = [anyio.run(sdk, backend=backend) for _ in range(RUNS)]
        ratios = [o / f for o, f in zip(ours, floor, strict=True)]
        rows.append(
            f"| {backend} | {N} | {statistics.median(floor) * 1000:.0f} ms "
            f"| {statistics.median(ours) * 1000:.0f} ms | {statistics.median(ratios):.2f}x |"
        )
    table = "\n".join(
        [
            "# Benchmarks",
            "",
            f"Python {sys.version.split()[0]}; median of {RUNS} runs; ratio taken within each run.",
            "",
            "## Pipeline overhead (N concurrent GETs, in-memory transport, no latency)",
            "",
            "| backend | requests | plain httpx | rescale_async | ratio |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
