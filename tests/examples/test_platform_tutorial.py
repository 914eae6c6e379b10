"""examples/platform_tutorial.py tells the notebook's story end to end, offline, as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "examples" / "platform_tutorial.py"
PI = "3.1415826536"
"""Leibniz's formula after the 100000 iterations of the tutorial's range.inp."""


def test_the_platform_tutorial_runs_the_notebooks_story_on_the_emulator() -> None:
    done = subprocess.run(
        [sys.executable, str(TUTORIAL), "--big-mib", "24"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    out = done.stdout
    lines = out.splitlines()

    assert lines[0] == "user: emulator@example.com"
    assert "cheapest general coretype (on-demand, linux): titanium at 0.0110" in lines
    assert "analysis: user_included version 0" in lines
    # refused by the client, naming the field and what granite allows
    refused = next(line for line in lines if line.startswith("refused before sending: "))
    assert "jobanalyses[0].hardware.coresPerSlot" in refused
    assert "allowed: 2, 4, 8" in refused

    failed = re.search(r"^job (\w+): Completed \(Command exited with code 2\): failed", out, re.M)
    assert failed, out
    first = failed[1]
    assert f"job {first}: Pending > Queued > Started > Validated > Executing > Completed" in lines
    log = next(line for line in lines if line.startswith("  process_output.log | "))
    assert "can't open file" in log and "calculate_pi.py" in log
    assert f"deleted job {first} once its cluster had stopped" in lines

    rerun = re.search(r"^job (\w+): Completed \(Completed successfully\): succeeded$", out, re.M)
    assert rerun and rerun[1] != first, out
    for name in ("pi_estimate.bin", "pi_estimate.res", "process_output.log"):
        assert re.search(
            rf"^  downloaded {re.escape(name)} \(\d+ bytes, sha512 verified\)$", out, re.M
        )
    assert f"pi estimate: {PI}" in lines

    zipped = f"succeeded: pi is about {PI} after 100000 iterations"
    assert any(line.startswith("zipped inputs: job ") and line.endswith(zipped) for line in lines)

    cluster = re.search(r"^cluster of job (\w+) is up: 1 instance\(s\) \(MPI_MASTER\)$", out, re.M)
    assert cluster, out
    assert f"job {cluster[1]}: Completed (Job stopped by user request)" in lines

    assert "24 MiB testfile: downloaded in concurrent ranges, sha512 verified" in lines
    assert lines[-1] == "deleted 1 file(s) named testfile*"
