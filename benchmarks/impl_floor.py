"""The floor: plain ``httpx.AsyncClient`` sending the fewest requests, concurrently when it can.

No models, no retries, no limits beyond what a scenario needs: JSON decoded into dicts. This
is what the physical limit looks like on a given server.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx

__all__ = ["list_jobs", "orchestrate", "save_logs", "statuses", "submit"]

TIMEOUT = httpx.Timeout(300.0)
TERMINAL = ("SUCCEEDED", "FAILED", "POD_SUCCEEDED", "POD_FAILED")


def _client(params: dict[str, Any]) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=params["base_url"] + "/",
        timeout=TIMEOUT,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
    )


async def _bearer(http: httpx.AsyncClient, api_key: str) -> dict[str, str]:
    response = await http.get("auth/token", headers={"Authorization": f"Token {api_key}"})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['tokenValue']}"}


def _task_url(params: dict[str, Any], task_id: str | None = None) -> str:
    return f"htc/projects/{params['project_id']}/tasks/{task_id or params['task_id']}"


async def list_jobs(params: dict[str, Any]) -> dict[str, Any]:
    """Every job of the task: one page after another (``next`` is an opaque link)."""
    jobs: list[dict[str, Any]] = []
    requests = 0
    async with _client(params) as http:
        headers = await _bearer(http, params["api_key"])
        url: str | None = f"{_task_url(params)}/jobs"
        query: dict[str, Any] | None = {"pageSize": params["page_size"]}
        while url:
            response = await http.get(url, params=query, headers=headers)
            response.raise_for_status()
            requests += 1
            body = response.json()
            jobs.extend(body["items"])
            url, query = body.get("next"), None
    return {"items": len(jobs), "distinct": len({j["jobUUID"] for j in jobs}), "pages": requests}


async def statuses(params: dict[str, Any]) -> dict[str, Any]:
    """The named jobs, a chunk of ids per ``GET .../jobs?jobId=...&viewType=SIMPLE``, all the
    chunks at once (the same chunks the SDK's ``get_many`` makes).
    """
    ids: list[str] = params["job_ids"]
    found: dict[str, str] = {}
    requests = 0
    async with _client(params) as http:
        headers = await _bearer(http, params["api_key"])

        async def one(part: list[str]) -> None:
            nonlocal requests
            url: str | None = f"{_task_url(params)}/jobs"
            query: dict[str, Any] | None = {
                "jobId": part,
                "viewType": "SIMPLE",
                "pageSize": len(part),
            }
            while url:
                response = await http.get(url, params=query, headers=headers)
                response.raise_for_status()
                requests += 1
                body = response.json()
                for job in body["items"]:
                    found[job["jobUUID"]] = job["status"]
                url, query = body.get("next"), None

        async with anyio.create_task_group() as group:
            for part in params["chunks"]:
                group.start_soon(one, part)
    return {"items": len(found), "ids_match": set(found) == set(ids), "requests": requests}


async def save_logs(params: dict[str, Any]) -> dict[str, Any]:
    """The log oldest first, pages of 10,000 lines, each written to the file as it comes."""
    written = 0
    pages = 0
    job_url = f"{_task_url(params)}/jobs/{params['job_id']}"
    async with _client(params) as http, await anyio.open_file(params["path"], "w") as out:
        headers = await _bearer(http, params["api_key"])
        url: str | None = f"{job_url}/logs"
        query: dict[str, Any] | None = {"pageSize": 10000, "sort": "asc"}
        while url:
            response = await http.get(url, params=query, headers=headers)
            response.raise_for_status()
            pages += 1
            body = response.json()
            items = body["items"]
            await out.write("".join(item["message"] + "\n" for item in items))
            written += len(items)
            url, query = body.get("next"), None
    return {"lines": written, "pages": pages}


async def submit(params: dict[str, Any]) -> dict[str, Any]:
    """Token, one image status check, then every batch POSTed at once."""
    body = [
        {
            "batchSize": params["count"],
            "htcJobDefinition": {"imageName": params["image"], "commands": params["commands"]},
        }
    ]
    ids: list[str] = []
    async with _client(params) as http:
        headers = await _bearer(http, params["api_key"])
        image = await http.get(
            f"htc/projects/{params['project_id']}/container-registry/images/{params['image']}",
            headers=headers,
        )
        image.raise_for_status()
        if image.json()["status"] != "READY":
            raise RuntimeError(f"image {params['image']} is not READY")

        async def post() -> None:
            response = await http.post(
                f"{_task_url(params)}/jobs/batch", json=body, headers=headers
            )
            response.raise_for_status()
            for batch in response.json():
                ids.extend(f"{batch['parentJobId']}:{i}" for i in range(batch["batchSize"]))

        async with anyio.create_task_group() as group:
            for _ in range(params["batches"]):
                group.start_soon(post)
    return {"jobs": len(ids), "distinct": len(set(ids))}


class _Pacer:
    """At most ``rate`` request starts per second, first come first served."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0
        self._lock = anyio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = anyio.current_time()
            delay = self._next - now
            self._next = max(now, self._next) + self._interval
        if delay > 0:
            await anyio.sleep(delay)


class _Orchestration:
    """A careful hand-written loop: create the tasks, submit, poll each unfinished task's
    summary every ``interval`` seconds, then list each task's jobs once (SIMPLE, one page) to
    account for every job. Paced under the server's limit as the SDK is.
    """

    def __init__(self, http: httpx.AsyncClient, params: dict[str, Any]) -> None:
        self.http = http
        self.params = params
        self.project = f"htc/projects/{params['project_id']}"
        self.pacer = _Pacer(params["client_rate"])
        self.limiter = anyio.CapacityLimiter(32)
        self.headers: dict[str, str] = {}
        self.sent = 0
        self.throttled = 0
        self.cycles = 0
        self.task_ids: list[str] = []
        self.statuses: dict[str, str] = {}

    async def call(self, method: str, url: str, **kwargs: Any) -> Any:
        while True:
            async with self.limiter:
                await self.pacer.wait()
                response = await self.http.request(method, url, headers=self.headers, **kwargs)
            self.sent += 1
            if response.status_code == 429:
                self.throttled += 1
                await anyio.sleep(float(response.headers.get("retry-after", "1")))
                continue
            response.raise_for_status()
            return response.json()

    async def _create(self, index: int) -> None:
        body = {"taskName": f"floor-{index}", "taskDescription": "benchmark"}
        self.task_ids.append(
            (await self.call("POST", f"{self.project}/tasks", json=body))["taskId"]
        )

    async def _submit(self, task_id: str) -> None:
        definition = {"imageName": self.params["image"], "commands": self.params["commands"]}
        body = [{"batchSize": self.params["jobs_per_task"], "htcJobDefinition": definition}]
        await self.call("POST", f"{self.project}/tasks/{task_id}/jobs/batch", json=body)

    async def _poll(self, task_id: str, pending: set[str]) -> None:
        url = f"{self.project}/tasks/{task_id}/summary-statistics"
        counts = (await self.call("GET", url))["jobStatuses"]
        if sum(counts.get(s, 0) for s in TERMINAL) >= self.params["jobs_per_task"]:
            pending.discard(task_id)

    async def _account(self, task_id: str) -> None:
        url: str | None = f"{self.project}/tasks/{task_id}/jobs"
        query: dict[str, Any] | None = {"viewType": "SIMPLE", "pageSize": 1000}
        while url:
            page = await self.call("GET", url, params=query)
            for job in page["items"]:
                self.statuses[job["jobUUID"]] = job["status"]
            url, query = page.get("next"), None

    async def run(self) -> None:
        await self.pacer.wait()
        self.headers = await _bearer(self.http, self.params["api_key"])
        self.sent += 1
        async with anyio.create_task_group() as group:
            for index in range(self.params["tasks"]):
                group.start_soon(self._create, index)
        image = await self.call(
            "GET", f"{self.project}/container-registry/images/{self.params['image']}"
        )
        if image["status"] != "READY":
            raise RuntimeError(f"image {self.params['image']} is not READY")
        async with anyio.create_task_group() as group:
            for task_id in self.task_ids:
                group.start_soon(self._submit, task_id)
        pending = set(self.task_ids)
        while pending:
            self.cycles += 1
            started = anyio.current_time()
            async with anyio.create_task_group() as group:
                for task_id in sorted(pending):
                    group.start_soon(self._poll, task_id, pending)
            if pending:
                elapsed = anyio.current_time() - started
                await anyio.sleep(max(0.0, self.params["interval"] - elapsed))
        async with anyio.create_task_group() as group:
            for task_id in self.task_ids:
                group.start_soon(self._account, task_id)


async def orchestrate(params: dict[str, Any]) -> dict[str, Any]:
    """See ``_Orchestration``."""
    async with _client(params) as http:
        loop = _Orchestration(http, params)
        await loop.run()
        returned_at = time.time()
    counts: dict[str, int] = {}
    for status in loop.statuses.values():
        counts[status] = counts.get(status, 0) + 1
    return {
        "returned_at": returned_at,
        "task_ids": loop.task_ids,
        "accounted": len(loop.statuses),
        "counts": counts,
        "client_requests": loop.sent,
        "client_429s": loop.throttled,
        "cycles": loop.cycles,
        "jobs": params["tasks"] * params["jobs_per_task"],
    }
