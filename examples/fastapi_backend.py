"""A FastAPI backend for sweeps: one ``HTCClient`` for the whole app, progress as SSE.

The app's lifespan owns ONE ``HTCClient`` (one connection pool, one token, one rate limit,
shared by every request) and closes it at shutdown; it also creates the task that sweeps go
to. For demos and tests it can start an embedded emulator in the lifespan as well.

- ``POST /sweeps`` submits a sweep: ``{"command": [...], "count": 100}`` (plus optional
  ``image``, ``env``, ``parameter``, ``timeout``); job ``i`` runs with ``SWEEP_INDEX=i`` (or
  the variable ``parameter`` names). Answers 201 with the sweep's group and job ids; bad input
  gets a 422 naming the field.
- ``GET /sweeps/{group}/events``: server-sent events, one ``status`` event per job status
  change as it is seen (from ``client.jobs.watch``), then one ``end`` event with the counts.
- ``GET /jobs/{job_id}/logs``: server-sent events, one ``log`` event per line as the job
  prints it (``client.jobs.follow_logs()``), then ``end`` once the job has ended.

A client that disconnects from a stream stops its watch or log reads (the server cancels
the response; nothing keeps polling).

Run it on an embedded emulator (uvicorn comes with the ``emulator`` extra), then try it::

    python examples/fastapi_backend.py --emulator         # http://127.0.0.1:8000/docs
    curl -s localhost:8000/sweeps -H 'content-type: application/json' \\
        -d '{"command": ["python3", "-c", "import os; print(os.environ[\\"SWEEP_INDEX\\"])"],
             "count": 5}'
    curl -N localhost:8000/sweeps/GROUP/events
    curl -N localhost:8000/jobs/JOB_ID/logs

Without ``--emulator`` it uses your Rescale credentials (``RESCALE_API_KEY``, or a profile
of ~/.config/rescale/apiconfig) and your first project. Under another server:
``SWEEPS_EMULATOR=1 uvicorn fastapi_backend:app --app-dir examples``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated

import anyio
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.types import Receive, Scope, Send

from rescale_async import (
    HTCClient,
    ImageNotReadyError,
    JobBatch,
    JobRef,
    JobSpec,
    NotFoundError,
    TaskRef,
)
from rescale_async.emulator import Emulator


class SweepRequest(BaseModel):
    """A sweep: ``count`` jobs running ``command`` in ``image``; job ``i`` gets
    ``env[parameter] = str(i)`` on top of ``env``.
    """

    model_config = ConfigDict(extra="forbid")

    command: list[str] = Field(min_length=1, description="the argv every job runs")
    count: int = Field(ge=1, le=1000, description="how many jobs (sweep points)")
    image: str = "python:3.11"
    env: dict[str, str] = {}
    parameter: str = Field("SWEEP_INDEX", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout: int = Field(3600, description="seconds each job may run")

    def spec(self, index: int) -> JobSpec:
        """The job of sweep point ``index``."""
        env = {**self.env, self.parameter: str(index)}
        return JobSpec(image=self.image, commands=self.command, env=env, timeout=self.timeout)

    @model_validator(mode="after")
    def _valid_for_the_api(self) -> SweepRequest:
        try:
            self.spec(0)  # JobSpec checks the API's limits: image reference, timeout, names...
        except ValidationError as exc:
            problems = (error["msg"].removeprefix("Value error, ") for error in exc.errors())
            raise ValueError("; ".join(problems)) from None
        return self


class SweepCreated(BaseModel):
    group: str
    task_id: str
    job_ids: list[str]


@dataclass
class Sweeps:
    """What the app's requests share (``app.state.sweeps``, set up by the lifespan)."""

    client: HTCClient
    task: TaskRef
    poll_interval: float
    """Seconds between status or log polls (the service refreshes statuses every ~30 s)."""
    emulator: Emulator | None = None
    """The embedded emulator, when the app runs on one."""
    batches: dict[str, JobBatch] = field(default_factory=dict)
    """The sweeps submitted by this process, by group (a real backend would store these)."""


def sweeps_of(request: Request) -> Sweeps:
    sweeps: Sweeps = request.app.state.sweeps
    return sweeps


Shared = Annotated[Sweeps, Depends(sweeps_of)]


def sse(event: str, data: object) -> str:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


class EventStream(StreamingResponse):
    """A ``text/event-stream`` response that ends as soon as the client leaves.

    Starlette's StreamingResponse stops on a disconnect by itself only for servers of ASGI
    spec < 2.4; this one always listens, so a watch never outlives its client.
    """

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterator[str]) -> None:
        super().__init__(events, headers={"Cache-Control": "no-cache"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as task_group:

            async def stream() -> None:
                await self.stream_response(send)
                task_group.cancel_scope.cancel()  # the events ended: stop listening

            task_group.start_soon(stream)
            await self.listen_for_disconnect(receive)
            task_group.cancel_scope.cancel()  # the client left: stop the events


def create_app(*, emulator: bool = False, poll_interval: float | None = None) -> FastAPI:
    """The app; ``emulator=True`` runs it on an embedded emulator started by its lifespan."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            emu: Emulator | None = None
            if emulator:
                emu = await stack.enter_async_context(Emulator(refresh_interval=0.05))
                client = await stack.enter_async_context(emu.client())
            else:
                client = await stack.enter_async_context(HTCClient())
            project = (await client.projects.list(limit=1)).items[0]
            task = await client.tasks.create(project, name="fastapi-sweeps")
            interval = poll_interval if poll_interval is not None else 0.1 if emulator else 30.0
            app.state.sweeps = Sweeps(client, TaskRef(task.project_id, task.task_id), interval, emu)
            yield
            # Leaving the stack closes the client (and stops the emulator and its jobs).

    app = FastAPI(title="Sweeps", lifespan=lifespan)

    @app.post("/sweeps", status_code=201)
    async def create_sweep(sweep: SweepRequest, sweeps: Shared) -> SweepCreated:
        specs = [sweep.spec(i) for i in range(sweep.count)]
        try:
            # Up to 1000 jobs are one submission, to one job group of their own.
            batch = await sweeps.client.jobs.submit_many(sweeps.task, specs, image_timeout=0)
        except ImageNotReadyError as exc:
            raise HTTPException(422, str(exc)) from None
        sweeps.batches[batch.group] = batch
        return SweepCreated(group=batch.group, task_id=batch.task.task_id, job_ids=batch.job_ids)

    @app.get("/sweeps/{group}/events")
    async def sweep_events(group: str, sweeps: Shared) -> EventStream:
        batch = sweeps.batches.get(group)
        if batch is None:
            raise HTTPException(404, f"no sweep with group {group!r}")

        async def events() -> AsyncIterator[str]:
            watch = batch.watch(interval=sweeps.poll_interval)
            async for change in watch:
                # Statuses and failure codes are string enums: JSON strings.
                yield sse(
                    "status",
                    {
                        "job_id": change.job_id,
                        "old_status": change.old_status,
                        "new_status": change.new_status,
                        "failure_code": change.failure_code,
                    },
                )
            result = watch.result()
            yield sse("end", {"counts": result.counts, "ok": result.ok})

        return EventStream(events())

    @app.get("/jobs/{job_id}/logs")
    async def job_logs(job_id: str, sweeps: Shared) -> EventStream:
        job = JobRef(*sweeps.task, job_id)
        try:
            await sweeps.client.jobs.get(job)
        except NotFoundError:
            raise HTTPException(404, f"no job {job_id!r}") from None

        async def lines() -> AsyncIterator[str]:
            log = sweeps.client.jobs.follow_logs(job, poll_interval=sweeps.poll_interval)
            async for line in log:
                when = line.timestamp.isoformat() if line.timestamp else None
                yield sse("log", {"timestamp": when, "message": line.message})
            yield sse("end", {})

        return EventStream(lines())

    return app


app = create_app(emulator=os.environ.get("SWEEPS_EMULATOR") == "1")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A FastAPI backend for sweeps.")
    parser.add_argument("--emulator", action="store_true", help="run on an embedded emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(create_app(emulator=args.emulator), host=args.host, port=args.port)
