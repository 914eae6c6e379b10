"""A local emulator of the Rescale HTC API (``/api/v1``) and platform API v2 (``/api/v2``),
one server for both, for tests, demos and benchmarks.

In process (no sockets; asyncio or trio):

    from rescale_async.emulator import Emulator

    async with Emulator(refresh_interval=0.05) as emu:
        async with emu.client() as client:  # an HTCClient wired to the emulator
            project = await client.projects.get(emu.project_id)

The platform API v2 is on the same emulator (``rescale_async.emulator.platform`` says how
it behaves): ``emu.platform_url``, ``emu.platform_api_key``, ``emu.platform_http()`` (a plain
``httpx.AsyncClient`` on it) and ``emu.platform`` (its state, for tests).

As an HTTP server: ``python -m rescale_async.emulator --port 8700`` (prints both roots and
an API key), ``await serve(...)`` in an asyncio program, or in tests ``async with serving()``
(any backend) / ``with background_server()`` (sync code): a background thread with its own
asyncio loop runs the emulator and uvicorn on a free port.

How it behaves
--------------
- **Jobs run for real.** Each job's ``commands`` run as a host process (no shell and no
  container: the image name is only a label, so commands run on the host with the emulator's
  user rights) in ``<jobs_root>/jobs/<parentJobId>_<index>``, with the job's ``envs`` plus
  what an HTC job gets: ``RESCALE_HTC_PROJECT_ID``, ``RESCALE_HTC_TASK_ID``,
  ``RESCALE_JOB_ID``, ``RESCALE_HTC_REGION``, ``RESCALE_HTC_BEARER_TOKEN`` (its claims carry
  ``userDefined_<name>``), ``RESCALE_HTC_REFRESH_TOKEN``, ``PROJECT_SHARED_FOLDER``,
  ``TASK_SHARED_FOLDER``, ``AWS_BATCH_JOB_ARRAY_INDEX`` and (served) ``RESCALE_HTC_API_URL``.
  Output lines become log lines. ``max_workers`` bounds the processes; project and workspace
  vCPU limits hold further jobs in SUBMITTED_TO_RESCALE. Leaving the emulator kills every job
  process (the job's whole process group).
- **Snapshots.** Like the service, the API shows job statuses (and events) as of the last
  refresh, every ``refresh_interval`` seconds (30 by default; tests use ~0.05);
  ``emu.refresh()`` publishes at once. Log lines are visible as soon as they are printed.
- **Cancel** fails waiting jobs at once and stops running ones (SIGTERM, SIGKILL after
  ``kill_grace``): FAILED, statusReason "Job cancelled by user request", no failureCode, and a
  last status event with ``userCancelledEvent: true``.
- **Persistence** (``db_path``): state, logs, keys and the signing key survive a restart. Jobs
  that were waiting run after it; jobs that were running lost their process as a job loses its
  instance: retried when their retry strategy allows, else FAILED with
  ErrorInstanceTermination.
- **Listing order** (``job_order``): the service promises no order of job listings;
  ``"shuffled"`` (a fixed random order per task) or ``"reversed"`` lists a task's jobs
  otherwise, paging still exact, to catch code that relies on creation order.
- **Faults** (``emu.faults``): errors, latency, rate limits (429 + Retry-After), dropped
  connections, responses lost after the server acted, token lifetime, a bandwidth cap per
  response and bodies cut short; per endpoint, at runtime, on both APIs.
  ``emu.counters`` counts requests, responses and faults per endpoint.

Where the emulator follows the service rather than the published document: presigned URLs
are strings (a serialised ``java.net.URL``), ``GET /htc/regions`` lists region settings, and
request bodies ignore unknown fields (as the service's JSON mapper does).

Needs the ``emulator`` extra: ``pip install rescale-async[emulator]`` (starlette, uvicorn).
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover  (the test environment has the extra)
    raise ImportError(
        f"rescale_async.emulator needs the 'emulator' extra ({exc.name} is missing): "
        "pip install 'rescale-async[emulator]'"
    ) from exc

from ._config import DEFAULT_IMAGES, EmulatorConfig
from ._emulator import Emulator
from ._faults import Counters, FaultRule, Faults
from ._local_registry import LocalRegistry, local_registry, registry_missing
from ._server import ServedEmulator, background_server, serve, serving
from .htc._records import JobRecord, JobView
from .platform import DOCUMENTED_RATE_LIMITS, PlatformConfig, ScopeLimit

__all__ = [
    "DEFAULT_IMAGES",
    "DOCUMENTED_RATE_LIMITS",
    "Counters",
    "Emulator",
    "EmulatorConfig",
    "FaultRule",
    "Faults",
    "JobRecord",
    "JobView",
    "LocalRegistry",
    "PlatformConfig",
    "ScopeLimit",
    "ServedEmulator",
    "background_server",
    "local_registry",
    "registry_missing",
    "serve",
    "serving",
]
