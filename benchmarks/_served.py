"""The served emulator as a separate process, and a small synchronous client for seeding it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

__all__ = ["Api", "RawApi", "Served", "served_emulator"]

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Served:
    """A running ``python -m rescale_async.emulator``."""

    process: subprocess.Popen[str]
    base_url: str
    api_key: str
    project_id: str
    counters_file: Path | None
    counters: dict[str, Any] = field(default_factory=dict)
    """The emulator's request counters, read when it has stopped (``--counters-file``)."""
    jobs: list[dict[str, Any]] = field(default_factory=list)
    """Every job as it really was when the emulator stopped (``--jobs-file``), if asked."""


def _read_announcement(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    printed: dict[str, str] = {}
    deadline = time.monotonic() + 30
    while "RESCALE_API_KEY" not in printed:
        line = process.stdout.readline()
        if not line or time.monotonic() > deadline:
            raise RuntimeError(f"the emulator did not start (exit code {process.poll()})")
        line = line.strip()
        if line.startswith("project:") and "(" in line:
            printed["project"] = line.rsplit("(", 1)[1].rstrip(")")
        elif line.startswith("RESCALE_") and "=" in line:
            name, value = line.split("=", 1)
            printed[name] = value
    return printed


@contextmanager
def served_emulator(
    workdir: Path,
    *,
    latency: float,
    refresh_interval: float,
    workers: int,
    rate_limit: float | None = None,
    rate_burst: int = 1,
    jobs_file: bool = False,
    name: str = "emulator",
    extra_args: tuple[str, ...] = (),
) -> Iterator[Served]:
    """Start the emulator on a free port, yield it, stop it (SIGTERM) and read its counters
    (and, with ``jobs_file``, every job's real end).
    """
    counters_file = workdir / f"{name}-counters.json"
    jobs_path = workdir / f"{name}-jobs.json"
    command = [
        sys.executable,
        "-m",
        "rescale_async.emulator",
        "--port",
        "0",
        "--latency",
        str(latency),
        "--refresh-interval",
        str(refresh_interval),
        "--workers",
        str(workers),
        "--jobs-root",
        str(workdir / f"{name}-jobs"),
        "--counters-file",
        str(counters_file),
    ]
    if rate_limit is not None:
        command += ["--rate-limit", str(rate_limit), "--rate-burst", str(rate_burst)]
    if jobs_file:
        command += ["--jobs-file", str(jobs_path)]
    command += extra_args
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with (
        open(workdir / f"{name}.log", "w") as log,
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=log, text=True, env=env, cwd=ROOT
        ) as process,
    ):
        try:
            printed = _read_announcement(process)
            served = Served(
                process,
                printed["RESCALE_HTC_API_URL"],
                printed["RESCALE_API_KEY"],
                printed["project"],
                counters_file,
            )
            yield served
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"the emulator exited with code {process.returncode}")
        if counters_file.exists():
            served.counters = json.loads(counters_file.read_text())
        if jobs_file and jobs_path.exists():
            served.jobs = json.loads(jobs_path.read_text())


class RawApi:
    """Raw calls to one API root, outside every measurement: it waits out any 429
    (``Retry-After``) and counts what it received, so that its own requests can be told apart
    from a measured client's in the server's counters.
    """

    def __init__(self, root: str, headers: dict[str, str] | None = None) -> None:
        self.http = httpx.Client(base_url=root + "/", headers=headers, timeout=300.0)
        self.sent: Counter[int] = Counter()
        """Responses received, by status."""

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, url: str, **kwargs: Any) -> Any:
        while True:
            response = self.http.request(method, url, **kwargs)
            self.sent[response.status_code] += 1
            if response.status_code == 429:
                time.sleep(float(response.headers.get("retry-after", "1")))
                continue
            response.raise_for_status()
            return response.json() if response.content else None


class Api(RawApi):
    """Raw HTC API calls for seeding and checking (with a bearer token of its own)."""

    def __init__(self, served: Served) -> None:
        super().__init__(served.base_url)
        self.served = served
        token = self._send(
            "GET", "auth/token", headers={"Authorization": f"Token {served.api_key}"}
        )
        self.http.headers["Authorization"] = f"Bearer {token['tokenValue']}"

    def get(self, url: str, **params: Any) -> Any:
        return self._send("GET", url, params=params or None)

    def post(self, url: str, body: Any = None, **params: Any) -> Any:
        return self._send("POST", url, json=body, params=params or None)

    def pages(self, url: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paginated listing."""
        page = self.get(url, **params)
        while True:
            yield from page["items"]
            if not page.get("next"):
                return
            page = self._send("GET", page["next"])

    # ------------------------------------------------------------------ seeding

    def project(self, project_id: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"htc/projects/{project_id or self.served.project_id}")
        return result

    def create_project(self, name: str, *, vcpu_limit: int | None = None) -> dict[str, Any]:
        """A new project; ``vcpu_limit=0`` holds its jobs in SUBMITTED_TO_RESCALE for good."""
        project: dict[str, Any] = self.post(
            "htc/projects", {"projectName": name, "projectDescription": "benchmark"}
        )
        if vcpu_limit is not None:
            self.post(
                f"htc/projects/{project['projectId']}/limits",
                {"vCPUs": vcpu_limit, "modifierRole": "PROJECT_ADMIN"},
            )
        return project

    def create_task(self, project_id: str, name: str) -> dict[str, Any]:
        task: dict[str, Any] = self.post(
            f"htc/projects/{project_id}/tasks", {"taskName": name, "taskDescription": "benchmark"}
        )
        return task

    def submit(
        self, project_id: str, task_id: str, commands: list[str], count: int, image: str
    ) -> list[str]:
        """Submit ``count`` copies (in batches of at most 1000); returns the job ids. No
        ``commands``: the image's own entrypoint (the emulator runs no process).
        """
        ids: list[str] = []
        definition: dict[str, Any] = {"imageName": image}
        if commands:
            definition["commands"] = commands
        while len(ids) < count:
            size = min(1000, count - len(ids))
            body = [{"batchSize": size, "htcJobDefinition": definition}]
            for batch in self.post(f"htc/projects/{project_id}/tasks/{task_id}/jobs/batch", body):
                ids.extend(f"{batch['parentJobId']}:{i}" for i in range(batch["batchSize"]))
        return ids

    def wait_terminal(self, project_id: str, task_id: str, count: int, timeout: float) -> None:
        """Until ``count`` jobs of the task are terminal (as the API shows them)."""
        deadline = time.monotonic() + timeout
        terminal = ("SUCCEEDED", "FAILED", "POD_SUCCEEDED", "POD_FAILED")
        while True:
            summary = self.get(f"htc/projects/{project_id}/tasks/{task_id}/summary-statistics")
            done = sum(summary["jobStatuses"].get(s, 0) for s in terminal)
            if done >= count:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{done} of {count} jobs finished in {timeout} s")
            time.sleep(0.25)
