"""``client.jobs`` log streaming: following a running job's log, its tail, saving it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, cast

import anyio
import httpx
import pytest
from support import BASE_URL, TokenEndpoint, client, mock_api

from rescale_async import JobRef, NotFoundError
from rescale_async.emulator import Emulator
from rescale_async.htc.orchestration import LogStream, _logs
from rescale_async.htc.types import JobDefinition, JobSubmitRequest, LogEvent

PID, TID, JID = "proj-1", "task-1", "parent-1:0"
JOB_PATH = f"/htc/projects/{PID}/tasks/{TID}/jobs/{JID}"
LOGS = f"{JOB_PATH}/logs"
JOB = JobRef(PID, TID, JID)
SAME = "2024-01-01T00:00:00Z"  # many lines share this timestamp


def event(n: int, timestamp: str = SAME) -> dict[str, Any]:
    return {"timestamp": timestamp, "message": f"line {n}"}


class FakeLog:
    """A job's log served the way the API does it: offset-like opaque ``pageIndex`` tokens,
    ``sort`` asc/desc, and, on the request numbers in ``empty_at``, an empty page whose ``next``
    resumes at the same position.
    """

    def __init__(self, count: int = 0, *, empty_at: set[int] | None = None) -> None:
        self.lines = [event(n) for n in range(count)]
        self.empty_at = empty_at or set()
        self.requests = 0

    def grow(self, count: int) -> None:
        start = len(self.lines)
        self.lines += [event(n) for n in range(start, start + count)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        params = request.url.params
        size = int(params["pageSize"])
        start = int(params.get("pageIndex", "0"))
        if self.requests in self.empty_at:
            return httpx.Response(
                200, json={"items": [], "next": f"{BASE_URL}{LOGS}?pageIndex={start}"}
            )
        ordered = self.lines if params.get("sort", "desc") == "asc" else self.lines[::-1]
        chunk = ordered[start : start + size]
        body: dict[str, Any] = {"items": chunk}
        if start + len(chunk) < len(ordered):
            body["next"] = f"{BASE_URL}{LOGS}?pageIndex={start + len(chunk)}"
        return httpx.Response(200, json=body)


class FakeJob:
    """The job: each GET applies the next growth of the log; RUNNING until none is left."""

    def __init__(self, log: FakeLog, growth: list[int]) -> None:
        self.log = log
        self.growth = list(growth)
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        status = "RUNNING"
        if self.growth:
            self.log.grow(self.growth.pop(0))
        if not self.growth:
            status = "SUCCEEDED"
        return httpx.Response(200, json={"jobUUID": JID, "status": status})


def messages(events: list[LogEvent]) -> list[str]:
    return [e.message or "" for e in events]


def names(count: int, start: int = 0) -> list[str]:
    return [f"line {n}" for n in range(start, start + count)]


# --- follow -------------------------------------------------------------------------------


@pytest.mark.parametrize("empty_at", [set(), {1, 3, 6, 9}])
async def test_follow_gets_every_line_once_as_the_log_grows(empty_at: set[int]) -> None:
    log = FakeLog(5, empty_at=empty_at)
    # growth lands on the last page read (pages of 3), then crosses into new pages; the last
    # growth comes with the terminal status, so only the read after it sees those lines
    job = FakeJob(log, [0, 1, 3, 0, 4, 2])
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        logs_route = router.get(LOGS).mock(side_effect=log)
        router.get(JOB_PATH).mock(side_effect=job)
        async with client() as c:
            stream = c.jobs.follow_logs(JOB, poll_interval=0.01, page_size=3)
            assert isinstance(stream, LogStream)
            with anyio.fail_after(10):
                got = [e async for e in stream]
            # the end is sticky
            with pytest.raises(StopAsyncIteration):
                await stream.__anext__()
    assert messages(got) == names(15)
    assert all(e.timestamp == got[0].timestamp for e in got)
    assert job.requests == 6  # once terminal, the job is not asked again
    # no time filter is ever sent; requests stay bounded (pages + a re-read per poll + ends)
    assert {k for call in logs_route.calls for k in call.request.url.params} <= {
        "sort",
        "pageSize",
        "pageIndex",
    }
    assert log.requests <= 5 + 2 * 6 + 2 + len(empty_at)


async def test_follow_of_a_finished_job_reads_once_more_and_stops() -> None:
    log = FakeLog(7)
    job = FakeJob(log, [])
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get(LOGS).mock(side_effect=log)
        router.get(JOB_PATH).mock(side_effect=job)
        async with client() as c:
            got = [e async for e in c.jobs.follow_logs(JOB, poll_interval=0.01)]
    assert messages(got) == names(7)
    assert job.requests == 1
    assert log.requests == 2  # the log, then the read after seeing the job terminal


async def test_follow_with_a_limit_and_breaking_out_early() -> None:
    log = FakeLog(10)
    job = FakeJob(log, [5, 5, 0])
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get(LOGS).mock(side_effect=log)
        router.get(JOB_PATH).mock(side_effect=job)
        async with client() as c:
            limited = c.jobs.follow_logs(JOB, poll_interval=0.01, page_size=4, limit=12)
            assert messages([e async for e in limited]) == names(12)
            async for e in c.jobs.follow_logs(JOB, poll_interval=0.01):
                assert e.message == "line 0"
                break  # no finalisation needed (trio would warn about an async generator)


async def test_follow_rejects_bad_arguments() -> None:
    async with client() as c:
        with pytest.raises(ValueError, match="poll_interval must be >= 0"):
            c.jobs.follow_logs(JOB, poll_interval=-1)
        with pytest.raises(ValueError, match=r"page_size for logs must be 1\.\.10000"):
            c.jobs.follow_logs(JOB, page_size=10001)


async def test_without_follow_logs_is_still_the_paginator() -> None:
    log = FakeLog(5)
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get(LOGS).mock(side_effect=log)
        async with client() as c:
            first = await c.jobs.logs(JOB, page_size=2)
            assert messages(first.items) == names(2)
            pages = [messages(p.items) async for p in c.jobs.logs(JOB, page_size=2).pages()]
    assert pages == [names(2), names(2, 2), names(1, 4)]
    assert log.requests == 4


# --- tail ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "n", "requests"),
    [(25, 10, 1), (25, 25, 1), (7, 50, 1), (10005, 10002, 2), (25, 0, 0)],
)
async def test_tail_is_the_newest_n_oldest_first(count: int, n: int, requests: int) -> None:
    log = FakeLog(count)
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        route = router.get(LOGS).mock(side_effect=log)
        async with client() as c:
            got = await c.jobs.tail(JOB, n)
    kept = min(n, count)
    assert messages(got) == names(kept, count - kept)
    assert log.requests == requests
    if requests:
        params = route.calls[0].request.url.params
        assert (params["sort"], params["pageSize"]) == ("desc", str(min(n, 10000)))


async def test_tail_rejects_a_negative_n() -> None:
    async with client() as c:
        with pytest.raises(ValueError, match="n must be >= 0"):
            await c.jobs.tail(JOB, -1)


# --- save_logs ----------------------------------------------------------------------------


def out_dir(tmp_path: Path) -> Path:
    (tmp_path / "out").mkdir()
    return tmp_path / "out"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize("follow", [False, True])
async def test_save_logs_streams_every_line_to_the_file(tmp_path: Path, follow: bool) -> None:
    log = FakeLog(11, empty_at={2})
    job = FakeJob(log, [3, 0])
    target = out_dir(tmp_path) / "job.log"
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get(LOGS).mock(side_effect=log)
        router.get(JOB_PATH).mock(side_effect=job)
        async with client() as c:
            written = await c.jobs.save_logs(
                JOB, target, follow=follow, poll_interval=0.01, page_size=4
            )
    count = 14 if follow else 11
    assert written == count
    assert read(target) == "".join(f"{m}\n" for m in names(count))
    assert listing(target.parent) == ["job.log"]  # no temporary file left


class Batches:
    """Three one-line batches; the second is read only when ``reading_second`` says so."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.read = 0
        self.reading_second = anyio.Event()

    def __aiter__(self) -> Batches:
        return self

    async def __anext__(self) -> list[str]:
        if self.read == 3:
            raise StopAsyncIteration
        self.read += 1
        self.events.append(f"read {self.read}")
        if self.read == 2:
            self.reading_second.set()
        await anyio.lowlevel.checkpoint()
        return [f"line {self.read}\n"]


class SlowFile:
    """A file whose first write ends only once the second batch is being read."""

    def __init__(self, batches: Batches, events: list[str]) -> None:
        self.batches = batches
        self.events = events
        self.text = ""

    async def write(self, text: str) -> int:
        self.events.append(f"write {text.strip()}")
        if "line 1" in text:
            await self.batches.reading_second.wait()
        self.text += text
        return len(text)


async def test_save_logs_writes_a_page_while_the_next_is_read() -> None:
    events: list[str] = []
    batches = Batches(events)
    out = SlowFile(batches, events)
    with anyio.fail_after(5):  # a write before reading on would wait for ever
        written = await _logs._write_batches(batches, cast("anyio.AsyncFile[str]", out))
    assert written == 3
    assert out.text == "line 1\nline 2\nline 3\n"
    # the first write and the second read ran side by side (in either order)
    assert events[0] == "read 1"
    assert sorted(events[1:3]) == ["read 2", "write line 1"]


async def test_follow_requests_the_next_page_before_handing_out_the_current_one() -> None:
    log = FakeLog(10)
    seen: list[tuple[str, int]] = []
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get(LOGS).mock(side_effect=log)
        router.get(JOB_PATH).mock(side_effect=FakeJob(log, []))
        async with client() as c:
            async for e in c.jobs.follow_logs(JOB, poll_interval=0.01, page_size=3):
                seen.append((e.message or "", log.requests))
    assert [m for m, _ in seen] == names(10)
    # pages of 3: lines 0-2 are handed out once the page from line 3 has been fetched too
    assert [n for _, n in seen[:4]] == [2, 2, 2, 3]
    assert log.requests == 5  # 4 pages, then the read after seeing the job terminal


async def test_follow_raises_an_error_of_the_page_read_ahead_after_the_lines_before() -> None:
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        route = router.get(LOGS).mock(
            side_effect=[
                httpx.Response(
                    200,
                    json={"items": [event(0), event(1)], "next": f"{BASE_URL}{LOGS}?pageIndex=2"},
                ),
                httpx.Response(404, json={"error": "not_found", "errorDescription": "gone"}),
            ]
        )
        async with client() as c:
            stream = c.jobs.follow_logs(JOB, poll_interval=0.01, page_size=2)
            got = [(await stream.__anext__()).message for _ in range(2)]
            with pytest.raises(NotFoundError):
                await stream.__anext__()
    assert got == names(2)
    assert route.call_count == 2


@pytest.mark.parametrize("follow", [False, True])
async def test_save_logs_writes_a_line_without_a_message_as_an_empty_line(
    tmp_path: Path, follow: bool
) -> None:
    items = [event(0), {"timestamp": SAME, "message": None}, {"timestamp": SAME}, event(3)]
    items[3]["message"] = "done\n"  # already ends its line
    target = out_dir(tmp_path) / "job.log"
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get(LOGS).respond(json={"items": items})
        router.get(JOB_PATH).respond(json={"jobUUID": JID, "status": "SUCCEEDED"})
        async with client() as c:
            written = await c.jobs.save_logs(JOB, target, follow=follow, poll_interval=0.01)
    assert written == 4
    assert read(target) == "line 0\n\n\ndone\n"


async def test_save_logs_leaves_no_file_when_reading_fails(tmp_path: Path) -> None:
    target = out_dir(tmp_path) / "job.log"
    with mock_api() as router:
        router.get("/auth/token").mock(side_effect=TokenEndpoint())
        router.get(LOGS).mock(
            side_effect=[
                httpx.Response(
                    200, json={"items": [event(0)], "next": f"{BASE_URL}{LOGS}?pageIndex=1"}
                ),
                httpx.Response(404, json={"error": "not_found", "errorDescription": "gone"}),
            ]
        )
        async with client() as c:
            with pytest.raises(NotFoundError):
                await c.jobs.save_logs(JOB, target)
    assert listing(target.parent) == []


# --- against the emulator -----------------------------------------------------------------

PRINTS = (
    "import time\n"
    "for i in range(1000): print(f'{i:04d}')\n"
    "time.sleep(0.3)\n"
    "for i in range(1000, 2000): print(f'{i:04d}')\n"
)


@pytest.mark.parametrize("empty", [0.0, 0.3])
async def test_follow_a_running_job_on_the_emulator(empty: float) -> None:
    async with (
        Emulator(refresh_interval=0.05, seed=3, log_empty_page_probability=empty) as emu,
        emu.client() as c,
    ):
        task = await c.tasks.create(emu.project_id, name="logs", description="follow")
        request = JobSubmitRequest(
            batch_size=1,
            htc_job_definition=JobDefinition(
                image_name="python:3.11",
                commands=[sys.executable, "-u", "-c", PRINTS],
                exec_timeout_seconds=60,
            ),
        )
        [submitted] = await c.jobs.submit_batch(task, request)
        job = JobRef(emu.project_id, task.task_id, submitted.job_ids[0])
        with anyio.fail_after(30):
            got = [
                e.message async for e in c.jobs.follow_logs(job, poll_interval=0.05, page_size=300)
            ]
            assert (await c.jobs.get(job)).is_terminal
            newest = await c.jobs.tail(job, 3)
    assert got == [f"{i:04d}" for i in range(2000)]
    assert messages(newest) == ["1997", "1998", "1999"]
