"""The HTC data plane end to end: an image pushed without docker, inputs in task storage, a
sweep whose jobs read their input and upload their result with the SDK, every result checked.

1. Build a small OCI image layout in Python (``build_oci_layout``, no docker) holding the
   job's program, ``/app/job.py``, and push it into the project's registry
   (``client.images.push``: returns once the image is READY for jobs).
2. Write one parameter file per job and upload them to the task's storage in one call
   (``client.storage.upload(task, "inputs-dir", "inputs")``).
3. Run the sweep. Each job, from its environment alone (``RESCALE_HTC_BEARER_TOKEN``,
   ``RESCALE_HTC_PROJECT_ID``, ``RESCALE_HTC_TASK_ID``, ``RESCALE_HTC_REGION``), downloads
   its parameter file from its task's storage, computes, and uploads its result there.
4. Download every result (``client.storage.download(task, "results", dest)``) and verify each
   against what this program computes itself.

Offline, on a served emulator with a real registry (Debian's ``docker-registry``) and a real
S3 (moto), all started by this program::

    python examples/data_plane.py                # 4 jobs
    python examples/data_plane.py --jobs 8 --backend trio

It needs ``apt-get install docker-registry apache2-utils`` and ``pip install
'rescale-async[storage,emulator]' 'moto[server]'``; without them it says what is missing.

The emulator runs a job's commands as host processes, not in containers: the image must be
pushed and READY (jobs naming an image the registry lacks fail, as on Rescale), but the
command runs on this machine. So the job's command runs the very program the image holds,
``JOB``, with this interpreter (``python -c JOB``); on Rescale it would be ``python3
/app/job.py``, in an image built on a base with Python and ``rescale-async[storage]``
(``build_oci_layout(..., base="python-base.tar")`` takes a ``docker save`` archive).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import anyio

from rescale_async import HTCClient, JobSpec, PushProgress, TaskRef, build_oci_layout
from rescale_async.emulator import ServedEmulator, local_registry, registry_missing, serving
from rescale_async.emulator.storage import moto_installed, serving_storage

# The job's program: /app/job.py in the image. It reads its parameter file from its task's
# storage, computes, and uploads its result there, with credentials from its environment.
JOB = """
import json, os, pathlib, sys
import anyio
from rescale_async import HTCClient, current_region, current_task

async def main():
    index = int(os.environ["JOB_INDEX"])
    task, region = current_task(), current_region()
    async with HTCClient() as client:  # the job's bearer token and API URL, from its env
        await client.storage.download(task, f"inputs/job-{index}.json", "input.json", region=region)
        params = json.loads(pathlib.Path("input.json").read_text())
        total = sum(k * k for k in range(params["n"]))
        out = pathlib.Path("out")
        out.mkdir()
        result = {"index": index, "n": params["n"], "sum_of_squares": total}
        (out / f"job-{index}.json").write_text(json.dumps(result))
        await client.storage.upload(task, out, "results", region=region)
    print(f"job {index}: sum of squares below {params['n']} = {total}, uploaded")

anyio.run(main, backend=sys.argv[1] if len(sys.argv) > 1 else "asyncio")
"""
REPOSITORY = "data-plane-demo"


def parameters(index: int) -> dict[str, int]:
    """Job ``index``'s parameter file."""
    return {"index": index, "n": 1000 * (index + 1)}


def expected(index: int) -> int:
    """What job ``index`` must report: the sum of k² for k below its ``n``."""
    n = parameters(index)["n"]
    return (n - 1) * n * (2 * n - 1) // 6


def missing_parts() -> list[str]:
    """What this machine lacks to run the example, each with how to install it."""
    missing = []
    registry = registry_missing()
    if registry is not None:
        missing.append(registry)
    if not moto_installed():
        missing.append("moto's S3 server is not installed: pip install 'moto[server]'")
    return missing


@asynccontextmanager
async def data_plane_emulator() -> AsyncIterator[ServedEmulator]:
    """A served emulator (jobs reach its API over HTTP) whose projects' registry is a real
    ``docker-registry`` and whose storage is moto's S3 behind the emulator's token gate.
    """
    async with (
        local_registry(storage="memory") as registry,
        serving_storage() as storage,
        serving(
            refresh_interval=0.05,
            max_workers=4,
            registry_address=registry.address,
            registry_password=registry.password,
            registry_pending=0.3,  # a pushed image is PENDING a moment, then READY
            **storage.config(),
        ) as served,
    ):
        yield served


def show_push(progress: PushProgress) -> None:
    if progress.blobs_done == progress.blobs_total:
        print(
            f"  pushed {progress.blobs_done} blobs ({progress.bytes_sent:,} bytes sent, "
            f"{progress.blobs_skipped} already there)",
            flush=True,
        )


async def push_image(client: HTCClient, project_id: str, workdir: Path) -> str:
    """Build the image layout in Python and push it; the ``repository:tag`` jobs run."""
    files = {"app/job.py": JOB.encode()}
    build = partial(build_oci_layout, workdir / "image", files, cmd=["python3", "/app/job.py"])
    layout = await anyio.to_thread.run_sync(build)
    pushed = await client.images.push(project_id, layout, repository=REPOSITORY, progress=show_push)
    print(f"image {pushed.image} is {'READY' if pushed.ready else 'pushed'}: {pushed.reference}")
    return pushed.image


async def upload_inputs(client: HTCClient, task: TaskRef, jobs: int, workdir: Path) -> None:
    """One parameter file per job, uploaded to the task's storage under ``inputs/``."""
    inputs = workdir / "inputs"
    inputs.mkdir()
    for index in range(jobs):
        (inputs / f"job-{index}.json").write_text(json.dumps(parameters(index)))
    done = await client.storage.upload(task, inputs, "inputs")
    print(f"uploaded {len(done.transferred)} parameter files to the task's storage")


def verify(results: Path, jobs: int) -> list[str]:
    """Every job's result, compared with what it must be; the problems found."""
    problems = []
    for index in range(jobs):
        path = results / f"job-{index}.json"
        if not path.is_file():
            problems.append(f"job {index}: no result")
            continue
        got = json.loads(path.read_text())["sum_of_squares"]
        if got != expected(index):
            problems.append(f"job {index}: {got}, expected {expected(index)}")
    return problems


async def run(jobs: int, backend: str) -> bool:
    """The whole story; True when every job succeeded and its result is right."""
    with tempfile.TemporaryDirectory(prefix="data-plane-") as tmp:
        workdir = Path(tmp)
        async with data_plane_emulator() as served, served.client() as client:
            project_id = served.project_id
            image = await push_image(client, project_id, workdir)
            created = await client.tasks.create(project_id, name="data-plane")
            assert created.task_id is not None
            task = TaskRef(project_id, created.task_id)
            await upload_inputs(client, task, jobs, workdir)

            specs = [
                JobSpec(
                    image=image,
                    # on Rescale: ["python3", "/app/job.py", backend]; see the docstring
                    commands=[sys.executable, "-c", JOB, backend],
                    env={"JOB_INDEX": str(index)},
                    timeout=300,
                )
                for index in range(jobs)
            ]
            batch = await client.jobs.submit_many(task, specs)
            print(f"submitted {len(batch)} jobs to task {task.task_id}", flush=True)
            outcome = await batch.wait(interval=0.1)
            print("jobs: " + ", ".join(f"{s} {n}" for s, n in sorted(outcome.counts.items())))

            results = workdir / "results"
            fetched = await client.storage.download(task, "results", results)
            print(f"downloaded {len(fetched.transferred)} results ({fetched.bytes:,} bytes)")
        problems = verify(results, jobs)
    for problem in problems:
        print(f"  wrong: {problem}")
    if outcome.ok and not problems:
        print(f"all {jobs} results verified")
    return outcome.ok and not problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=4, help="jobs of the sweep (default 4)")
    parser.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    missing = missing_parts()
    if missing:
        print("this example needs a local registry and S3 server:", file=sys.stderr)
        for what in missing:
            print(f"  {what}", file=sys.stderr)
        return 2
    ok = anyio.run(run, args.jobs, args.backend, backend=args.backend)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
