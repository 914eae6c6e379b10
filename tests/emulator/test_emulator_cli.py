"""The command line's options become the emulator's configuration."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import anyio
import httpx
import pytest
from emulator_support import Api, job, py, running

from rescale_async.emulator import Counters, EmulatorConfig
from rescale_async.emulator.__main__ import (
    config_from,
    counters_document,
    fault_rules,
    freeze_survivors,
    jobs_document,
    parse_args,
)


def test_options_map_to_the_configuration() -> None:
    args = parse_args(
        [
            "--port",
            "0",
            "--db",
            "state.db",
            "--refresh-interval",
            "0.5",
            "--workers",
            "3",
            "--api-key",
            "a",
            "--api-key",
            "b",
            "--image",
            "app:1",
            "--image",
            "slow:2=30",
            "--log-empty-pages",
            "0.1",
            "--seed",
            "4",
        ]
    )
    config = config_from(args)
    assert config.db_path == Path("state.db")
    assert config.refresh_interval == 0.5
    assert config.max_workers == 3
    assert config.api_keys == ("a", "b")
    assert dict(config.images) == {"app:1": 0.0, "slow:2": 30.0}
    assert config.log_empty_page_probability == 0.1
    assert config.seed == 4
    defaults = config_from(parse_args([]))
    assert defaults.images == EmulatorConfig().images
    assert defaults.job_order == "created"
    assert parse_args([]).port == 8700
    assert config_from(parse_args(["--job-order", "shuffled"])).job_order == "shuffled"


def test_bad_values_are_refused() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--image", "x=soon"])
    with pytest.raises(ValueError, match="max_workers"):
        config_from(parse_args(["--workers", "0"]))
    with pytest.raises(SystemExit):
        parse_args(["--job-order", "sorted"])
    with pytest.raises(ValueError, match="job_order"):
        EmulatorConfig(job_order="sorted")  # type: ignore[arg-type]


def test_served_mode_flags_map_to_fault_rules_and_configuration() -> None:
    args = parse_args(
        [
            "--latency",
            "0.05",
            "--rate-limit",
            "20",
            "--rate-burst",
            "5",
            "--max-page-size",
            "500",
            "--counters-file",
            "counts.json",
        ]
    )
    assert config_from(args).max_page_size == 500
    assert args.counters_file == Path("counts.json")
    latency, limit = fault_rules(args)
    assert (latency.latency, latency.rate_limit, latency.method, latency.path) == (
        0.05,
        None,
        None,
        None,
    )
    assert (limit.latency, limit.rate_limit, limit.burst) == (0.0, 20.0, 5)
    assert limit.path is None and limit.path_regex is None  # every request counts
    defaults = parse_args([])
    assert fault_rules(defaults) == []
    assert config_from(defaults).max_page_size == EmulatorConfig().max_page_size
    assert fault_rules(parse_args(["--rate-limit", "2"]))[0].burst == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["--latency", "-1"],
        ["--latency", "soon"],
        ["--rate-limit", "0"],
        ["--rate-burst", "0"],
        ["--max-page-size", "0"],
    ],
)
def test_bad_served_mode_values_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)


def test_counters_document_is_json_ready() -> None:
    counters = Counters()
    counters.count_request("GET /auth/token")
    counters.count_request("GET /auth/token")
    counters.count_response("GET /auth/token", 200)
    counters.count_response("GET /auth/token", 429)
    counters.count_fault("rate_limited", "GET /auth/token")
    document = json.loads(json.dumps(counters_document(counters)))
    assert document == {
        "requests_total": 2,
        "requests": {"GET /auth/token": 2},
        "statuses": {"200": 1, "429": 1},
        "responses": {"GET /auth/token 200": 1, "GET /auth/token 429": 1},
        "faults": {"rate_limited GET /auth/token": 1},
    }


def test_served_emulator_applies_latency_and_rate_limit_and_writes_its_counters(
    tmp_path: Path,
) -> None:
    counters_file = tmp_path / "counters.json"
    jobs_file = tmp_path / "jobs.json"
    command = [
        sys.executable,
        "-m",
        "rescale_async.emulator",
        "--port",
        "0",
        "--api-key",
        "k",
        "--latency",
        "0.2",
        "--rate-limit",
        "0.5",
        "--rate-burst",
        "2",
        "--counters-file",
        str(counters_file),
        "--jobs-file",
        str(jobs_file),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            printed: dict[str, str] = {}
            while "RESCALE_API_KEY" not in printed:
                line = process.stdout.readline()
                assert line, "the emulator exited before printing its address"
                if line.startswith("RESCALE_") and "=" in line:
                    name, value = line.strip().split("=", 1)
                    printed[name] = value
            url = printed["RESCALE_HTC_API_URL"]
            statuses = []
            with httpx.Client(headers={"Authorization": "Token k"}) as http:
                for _ in range(3):
                    start = time.monotonic()
                    statuses.append(http.get(f"{url}/auth/token").status_code)
                    assert time.monotonic() - start >= 0.2  # the latency, every request
            assert statuses == [200, 200, 429]  # a burst of 2, then over 0.5/s
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
    assert process.returncode == 0
    counts = json.loads(counters_file.read_text())
    assert counts["requests_total"] == 3
    assert counts["statuses"] == {"200": 2, "429": 1}
    assert counts["faults"]["delayed GET /auth/token"] == 3
    assert counts["faults"]["rate_limited GET /auth/token"] == 1
    assert json.loads(jobs_file.read_text()) == []  # no job was submitted


async def test_jobs_document_shows_jobs_as_they_really_are() -> None:
    async with running(refresh_interval=3600) as emu, emu.http(token=emu.issue_token()) as http:
        api = Api(emu, http)
        task = await api.task()
        ids = await api.submit(task, job(py("raise SystemExit(3)")), job(py("pass")))
        with anyio.fail_after(20):
            await emu.wait_for_jobs(ids, visible=False)  # the API still shows them queued
        document = {entry["jobId"]: entry for entry in jobs_document(emu)}
    assert set(document) == set(ids)
    failed, succeeded = document[ids[0]], document[ids[1]]
    assert (failed["taskId"], failed["status"], failed["failureCode"]) == (
        task,
        "FAILED",
        "ErrorNonZeroContainerExitCode",
    )
    assert (succeeded["status"], succeeded["failureCode"]) == ("SUCCEEDED", None)
    for entry in (failed, succeeded):
        assert datetime.fromisoformat(entry["completedAt"]).tzinfo is not None


async def test_the_served_process_freezes_what_survives_so_full_collections_stay_short() -> None:
    gc.unfreeze()
    try:
        with anyio.move_on_after(0.2):
            await freeze_survivors(0.05)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
