"""``python -m rescale_async.emulator --with-registry``: a real subprocess starting its own
``docker-registry``, an image pushed there over HTTP and run by a job; and a clear refusal
when the registry is not installed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from registry_support import small_layout

from rescale_async import HTCClient, JobSpec
from rescale_async.emulator import registry_missing


def test_without_docker_registry_the_option_is_refused_clearly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rescale_async.emulator", "--with-registry", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PATH": str(tmp_path)},  # nothing to find there
    )
    assert result.returncode == 1
    assert "error: --with-registry: docker-registry is not installed" in result.stderr
    assert "apt-get install docker-registry apache2-utils" in result.stderr


def test_with_registry_the_served_emulator_takes_pushes_and_runs_them(tmp_path: Path) -> None:
    missing = registry_missing()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must run this test")
        pytest.skip(missing)
    command = [
        *(sys.executable, "-m", "rescale_async.emulator", "--with-registry", "--port", "0"),
        *("--refresh-interval", "0.05", "--registry-pending", "0.2"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        announced: dict[str, str] = {}
        for line in process.stdout:
            key, _, value = line.strip().partition("=")
            announced[key] = value
            if line.startswith("  container registry: "):
                announced["registry"] = line.split(": ", 1)[1].split()[0]
            if line.startswith("Press Ctrl-C"):
                break
        assert "registry" in announced, announced
        anyio.run(_push_and_run, announced, small_layout(tmp_path))
    finally:
        process.send_signal(signal.SIGINT)
        remaining, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert "Emulator stopped." in remaining


async def _push_and_run(announced: dict[str, str], layout: Path) -> None:
    async with HTCClient(
        api_key=announced["RESCALE_API_KEY"], base_url=announced["RESCALE_HTC_API_URL"]
    ) as client:
        project = (await client.projects.list().to_list())[0]
        assert project.container_registry is not None
        assert project.container_registry.startswith(announced["registry"] + "/rescale/")
        pushed = await client.images.push(project.project_id or "", layout, repository="app")
        assert pushed.ready and pushed.registry.startswith(announced["registry"])
        task = await client.tasks.create(project, name="with-registry")
        batch = await client.jobs.submit(
            task, JobSpec(image=pushed.image, commands=[sys.executable, "-c", "print('ran')"])
        )
        with anyio.fail_after(30):
            result = await batch.wait(interval=0.1)
        assert len(result.succeeded) == 1 and not result.failed, result
