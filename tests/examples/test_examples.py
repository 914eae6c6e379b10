"""The examples run as written (against the embedded emulator, or a served one standing in for
Rescale). The FastAPI example is tested in process in tests/examples/.
"""

from __future__ import annotations

import math
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from rescale_async.emulator import background_server

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def run(
    *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        env=env,
    )


def test_quickstart() -> None:
    result = run(str(EXAMPLES / "quickstart.py"))
    assert result.returncode == 0, result.stderr
    assert "statuses: {'SUCCEEDED': 3}" in result.stdout
    assert result.stdout.count("hello from") == 3


def f(x: float) -> str:
    """What a sweep point prints (as examples/parameter_sweep.py computes it)."""
    return f"f({x:.3f}) = {math.sin(3 * x) * math.exp(-x / 4):.6f}"


def check_sweep(stdout: str, points: int) -> None:
    assert f"submitted {points} jobs to task " in stdout
    progress = [line for line in stdout.splitlines() if line.startswith("[")]
    assert progress[-1] == f"[{'#' * 30}] {points}/{points}  succeeded {points}"
    done = [int(m) for m in re.findall(rf"\] (\d+)/{points} ", "\n".join(progress) + " ")]
    assert done == sorted(done)  # the line only moves forward
    assert f"summary:\n  SUCCEEDED  {points}\nresults:\n" in stdout
    picks = sorted({0, points // 4, points // 2, 3 * points // 4, points - 1})
    results = stdout.split("results:\n")[1].splitlines()
    assert results == [f"  point {i:>4}: {f(10 * i / (points - 1))}" for i in picks]


def test_the_parameter_sweep_runs_1000_jobs_on_the_emulator() -> None:
    result = run(str(EXAMPLES / "parameter_sweep.py"), "--emulator")
    assert result.returncode == 0, result.stderr
    check_sweep(result.stdout, 1000)


def test_the_parameter_sweep_runs_with_credentials_against_a_service() -> None:
    """Without --emulator the sweep takes credentials from the environment, as with Rescale;
    a served emulator stands in for the service (its jobs run the host's python3).
    """
    with background_server(refresh_interval=0.05, max_workers=8) as served:
        env = {
            **os.environ,
            "RESCALE_API_KEY": served.api_key,
            "RESCALE_HTC_API_URL": served.base_url,
        }
        result = run(
            str(EXAMPLES / "parameter_sweep.py"), "--points", "12", "--interval", "0.1", env=env
        )
        assert result.returncode == 0, result.stderr
        check_sweep(result.stdout, 12)
        assert len(served.emulator.state.jobs) == 12


def test_the_parameter_sweep_without_credentials_points_to_the_emulator() -> None:
    result = run(str(EXAMPLES / "parameter_sweep.py"), "--points", "3")
    assert result.returncode == 2
    assert "no Rescale credentials found" in result.stderr
    assert "pass --emulator" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_trio_program_streams_a_log_while_it_waits_for_the_batch() -> None:
    result = run(str(EXAMPLES / "trio_program.py"), "--emulator", "--jobs", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"submitted 3 jobs; following \S+:0", lines[0])
    assert lines[1:] == [
        *(f"  log | job 0: step {step}/5" for step in range(1, 6)),
        "batch done: SUCCEEDED 3",
    ]


def test_the_testing_example_passes_under_the_repositorys_pytest_config() -> None:
    """examples/testing is not under tests/, so only this run collects it; it runs with the
    repository's configuration (filterwarnings = error among it).
    """
    result = run("-m", "pytest", "examples/testing", "-p", "no:cacheprovider", timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "configfile: pyproject.toml" in result.stdout
    assert re.search(r"^=+ 10 passed in [\d.]+s =+$", result.stdout, re.MULTILINE), result.stdout


@contextmanager
def fastapi_server() -> Iterator[httpx.Client]:
    """``python examples/fastapi_backend.py --emulator`` on a free port, and a client on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable,
        str(EXAMPLES / "fastapi_backend.py"),
        "--emulator",
        "--port",
        str(port),
    ]
    with subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True) as server:
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                for _ in range(200):
                    try:
                        http.get("/docs")
                        break
                    except httpx.TransportError:
                        assert server.poll() is None, server.communicate()[1]
                        time.sleep(0.05)
                yield http
        finally:
            server.terminate()
            _, errors = server.communicate(timeout=30)
    assert "Application shutdown complete" in errors
    assert "Traceback" not in errors


def test_the_fastapi_backend_serves_sweeps_and_their_events_over_http() -> None:
    code = "import os; print('point', os.environ['SWEEP_INDEX'])"
    with fastapi_server() as http:
        response = http.post("/sweeps", json={"command": [sys.executable, "-c", code], "count": 3})
        assert response.status_code == 201, response.text
        created = response.json()
        with http.stream("GET", f"/sweeps/{created['group']}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = [line for line in stream.iter_lines() if line]
        names = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
        assert names[-1] == "end" and set(names[:-1]) == {"status"}
        assert lines[-1] == 'data: {"counts": {"SUCCEEDED": 3}, "ok": true}'
        for job_id in created["job_ids"]:
            assert f'"job_id": "{job_id}", "old_status": null' in "\n".join(lines)
        log = http.get(f"/jobs/{created['job_ids'][1]}/logs").text
        assert '"message": "point 1' in log
        assert log.endswith("event: end\ndata: {}\n\n")
        assert http.post("/sweeps", json={"count": 3}).status_code == 422
