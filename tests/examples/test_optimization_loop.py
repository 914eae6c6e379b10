"""examples/optimization_loop.py drives several rounds on one cluster of the emulator, offline."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "optimization_loop.py"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_optimization_loop_runs_every_round_on_one_cluster(backend: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--rounds", "8", "--backend", backend],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    up = re.search(r"^cluster of job (\w+) is up after", out, re.M)
    assert up, out
    rounds = re.findall(r"^round (\d+): x=([\d.]+) cost=([\d.]+)$", out, re.M)
    assert [int(r[0]) for r in rounds] == list(range(1, 9))
    assert "fetched 8 result files (sha256 verified)" in out
    best = re.search(r"^best: x=([\d.]+) cost=([\d.]+)$", out, re.M)
    assert best and abs(float(best[1]) - 2.5) < 0.1, out
    assert f"cluster of job {up[1]} stopped" in out
