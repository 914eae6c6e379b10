"""The platform API tutorial notebook's story, told with this SDK (docs/platform.md walks it).

The cheapest general coretype from the prices, the analysis version, a job refused before it is
sent (a core count its coretype does not offer), a job that fails (its inputs were forgotten),
diagnosed from its ``process_output.log``, deleted once its cluster stopped, fixed and rerun
with ``client.jobs.run`` (inputs uploaded, outputs downloaded and verified), zipped inputs, a
quasi-persistent cluster stopped by hand, and a big result fetched in concurrent ranges.

Offline, on the emulator served from this process (its jobs are processes on this machine)::

    python examples/platform_tutorial.py [--big-mib 1024]

With ``--real`` it runs on Rescale with your credentials (``RESCALE_API_KEY`` and
``RESCALE_API_URL``, or a profile of ~/.config/rescale/apiconfig): real, billed jobs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import zipfile
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import anyio

from rescale_async import Hardware, JobAnalysis, JobCreate, PlatformClient
from rescale_async.emulator import serving
from rescale_async.emulator.platform import PlatformConfig
from rescale_async.platform.types import AnalysisRef, JobOutcome

CALCULATE_PI = """\
import struct, sys
iterations = int(open(sys.argv[1]).read().split()[0])
pi = 4 * sum((-1) ** k / (2 * k + 1) for k in range(iterations))
open("pi_estimate.res", "w").write(f"{pi:.10f}\\n")
open("pi_estimate.bin", "wb").write(struct.pack("<d", pi))
print(f"pi is about {pi:.10f} after {iterations} iterations")
"""
"""The notebook's job_inputs/calculate_pi.py: Leibniz's formula, the count from range.inp."""

MIB = 1024 * 1024


@dataclass(frozen=True)
class Story:
    """What every step needs: the client, where files go, how often to poll."""

    client: PlatformClient
    workdir: Path
    interval: float


def chain(outcome: JobOutcome) -> str:
    """A job's history as the notebook prints it: ``Pending > Queued > ... > Completed``."""
    return " > ".join(str(status) for status in outcome.statuses())


async def cheapest_general_coretype(client: PlatformClient) -> str:
    """The least expensive active general-purpose coretype, on-demand economy, Linux."""
    general = {
        core.code: core
        async for core in client.coretypes.list()
        if "general" in (core.category_codes or [])
    }
    prices = {
        price.core_type: price.amount
        for price in await client.prices.list()
        if (price.plan_type or "").endswith("on-demand")
        and price.os == "linux"
        and price.is_active
        and price.core_type in general
        and price.amount is not None
    }
    cheapest = min(prices, key=lambda code: prices[code] or Decimal(0))
    print(f"cheapest general coretype (on-demand, linux): {cheapest} at {prices[cheapest]}")
    return cheapest


def pi_job(name: str, analysis: AnalysisRef, cores: int, command: str) -> JobCreate:
    """The notebook's job definition: Bring Your Own Software on granite."""
    hardware = Hardware(core_type="granite", cores_per_slot=cores, walltime=1)
    return JobCreate(
        name=name,
        jobanalyses=[JobAnalysis(analysis=analysis, command=command, hardware=hardware)],
    )


async def refused_then_failed(story: Story, analysis: AnalysisRef) -> None:
    """The notebook's first two tries: a core count granite does not offer (refused here,
    before any request), then a job without its inputs, diagnosed and deleted.
    """
    client = story.client
    command = "python3 calculate_pi.py range.inp"
    try:
        await client.jobs.create(pi_job("tutorial", analysis, 1, command))
    except ValueError as exc:
        print(f"refused before sending: {exc}")
    job = await client.jobs.create(pi_job("tutorial", analysis, 2, command))
    await client.jobs.submit(job)
    outcome = await client.jobs.wait(job, interval=story.interval)
    print(f"job {job.id}: {chain(outcome)}")
    verdict = "succeeded" if outcome.succeeded else f"failed: {outcome.failure_reason}"
    print(f"job {job.id}: {outcome.status} ({outcome.reason}): {verdict}")
    for line in await client.jobs.process_output(job):
        print(f"  process_output.log | {line.rstrip()}")
    # A Completed job cannot be changed or submitted again (the service answers 200 and does
    # nothing): delete it once its cluster has stopped, and run a new one.
    await client.jobs.delete(job, wait_for_cluster=True, interval=story.interval)
    print(f"deleted job {job.id} once its cluster had stopped")


async def fixed_and_rerun(story: Story, analysis: AnalysisRef, inputs: list[Path]) -> None:
    """The whole story in one call: upload, create, submit, wait, download verified."""
    client = story.client
    definition = pi_job("tutorial (with inputs)", analysis, 2, "python3 calculate_pi.py range.inp")
    definition = definition.model_copy(update={"is_low_priority": True})
    run = await client.jobs.run(
        definition, inputs=inputs, outputs=story.workdir / "job_outputs", interval=story.interval
    )
    print(
        f"job {run.job.id}: {run.outcome.status} ({run.outcome.reason}): "
        f"{'succeeded' if run.succeeded else 'failed'}"
    )
    for done in sorted(run.files, key=lambda d: d.path.name):
        check = "sha512 verified" if done.verified else "no checksum to verify"
        print(f"  downloaded {done.path.name} ({done.size} bytes, {check})")
    estimate = (story.workdir / "job_outputs" / "pi_estimate.res").read_text().strip()
    print(f"pi estimate: {estimate}")
    await client.jobs.delete(
        run.job, wait_for_cluster=True, delete_input_files=True, interval=story.interval
    )


async def zipped_inputs(story: Story, analysis: AnalysisRef, inputs: list[Path]) -> None:
    """Inputs zipped into one upload: the platform extracts zips (``decompress``)."""
    archive = story.workdir / "job_inputs.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in inputs:
            zipped.write(path, f"job_inputs/{path.name}")
    command = "cd job_inputs; python3 calculate_pi.py range.inp"
    run = await story.client.jobs.run(
        pi_job("tutorial (zipped inputs)", analysis, 2, command),
        inputs=[archive],
        interval=story.interval,
    )
    lines = await story.client.jobs.process_output(run.job)
    print(
        f"zipped inputs: job {run.job.id} {'succeeded' if run.succeeded else 'failed'}: "
        f"{lines[-1].strip() if lines else '(no output)'}"
    )
    await story.client.jobs.delete(
        run.job, wait_for_cluster=True, delete_input_files=True, interval=story.interval
    )


async def quasi_persistent_cluster(story: Story, analysis: AnalysisRef) -> None:
    """A job running ``sleep inf`` keeps its cluster up: reach it, then stop it."""
    client = story.client
    job = await client.jobs.create(pi_job("tutorial (sleep inf)", analysis, 2, "sleep inf"))
    await client.jobs.submit(job)
    await client.jobs.wait(job, until="Executing", interval=story.interval)
    instances = await client.jobs.instances(job).to_list()
    roles = ", ".join(str(instance.role) for instance in instances)
    print(f"cluster of job {job.id} is up: {len(instances)} instance(s) ({roles})")
    # Here the notebook connects with paramiko to instances[0].public_ip, ssh_port, username
    # (the emulator runs no SSH server), then stops the job gracefully.
    await client.jobs.stop(job)
    outcome = await client.jobs.wait(job, interval=story.interval)
    print(f"job {job.id}: {outcome.status} ({outcome.reason})")
    await client.jobs.delete(job, wait_for_cluster=True, interval=story.interval)


async def big_result(story: Story, analysis: AnalysisRef, size: int) -> None:
    """A job writes a big random file; it comes back in concurrent ranges, verified."""
    client = story.client
    command = f"head -c {size} /dev/urandom > testfile"
    run = await client.jobs.run(
        pi_job("tutorial (big result)", analysis, 2, command), interval=story.interval
    )
    found = await client.jobs.files(run.job, search="testfile").to_list()
    testfile = next(file for file in found if file.name == "testfile")
    start = time.perf_counter()
    done = await client.files.download(testfile, story.workdir / "testfile")
    seconds = time.perf_counter() - start
    check = "sha512 verified" if done.verified else "not verified"
    print(f"{done.size / MIB:,.0f} MiB testfile: downloaded in concurrent ranges, {check}")
    print(f"  ({seconds:.1f} s, {done.size / MIB / seconds:,.0f} MiB/s)")
    # The notebook's clean-up: delete the files called testfile*, then the job.
    deleted = 0
    async for file in client.files.list(search="testfile"):
        await client.files.delete(file)
        deleted += 1
    print(f"deleted {deleted} file(s) named testfile*")
    await client.jobs.delete(run.job, wait_for_cluster=True, interval=story.interval)


def write_inputs(workdir: Path) -> list[Path]:
    """The notebook's job_inputs: the script and its iteration count."""
    script = workdir / "calculate_pi.py"
    script.write_text(CALCULATE_PI)
    count = workdir / "range.inp"
    count.write_text("100000\n")
    return [script, count]


async def main(*, real: bool, big_mib: int) -> None:
    async with AsyncExitStack() as stack:
        if real:
            client = await stack.enter_async_context(PlatformClient())
        else:
            # The emulator served over HTTP on a free local port, from a thread of its own:
            # downloads stream as they would from Rescale (in process, a response is held whole).
            config = PlatformConfig(status_delay=0.05)
            served = await stack.enter_async_context(serving(platform=config))
            client = await stack.enter_async_context(served.platform_client())
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tutorial-")))
        # The service moves a job's status every few seconds; the emulator here every 0.05 s.
        story = Story(client, workdir, interval=30.0 if real else 0.1)

        me = await client.users.me()
        print(f"user: {me.email}")
        await cheapest_general_coretype(client)
        # As the notebook, settle on granite; the software: Bring Your Own Software.
        version = await client.analyses.version("user_included", "0")
        print(f"analysis: user_included version {version.version_code}")
        analysis = version.ref()
        projects = await client.projects.list().to_list()
        print(f"projects: {', '.join(str(project.name) for project in projects)}")

        inputs = write_inputs(workdir)
        await refused_then_failed(story, analysis)
        await fixed_and_rerun(story, analysis, inputs)
        await zipped_inputs(story, analysis, inputs)
        await quasi_persistent_cluster(story, analysis)
        await big_result(story, analysis, big_mib * MIB)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", action="store_true", help="run on Rescale (billed jobs)")
    parser.add_argument(
        "--big-mib", type=int, default=1024, help="size of the big result in MiB (default 1024)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    anyio.run(lambda: main(real=args.real, big_mib=args.big_mib))
