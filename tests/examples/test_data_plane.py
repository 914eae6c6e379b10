"""examples/data_plane.py runs as written: an image pushed without docker to a real registry,
inputs in a real S3 (moto), jobs reading and writing task storage from their environment,
every result downloaded and verified; and a clear message when the real parts are missing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rescale_async.emulator import registry_missing
from rescale_async.emulator.storage import moto_installed

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "data_plane.py"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
        env=env,
    )


def test_the_data_plane_example_pushes_runs_and_verifies_every_result() -> None:
    missing = registry_missing() or (None if moto_installed() else "moto[server] missing")
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{missing}; CI must run this example")
        pytest.skip(missing)
    done = run("--jobs", "3", "--backend", "trio")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Traceback" not in done.stderr
    assert "  pushed 2 blobs (" in out and "0 already there)" in out
    image = re.search(r"^image (data-plane-demo:[0-9a-f]{12}) is READY: (\S+)$", out, re.M)
    assert image, out
    reference = re.fullmatch(
        r"127\.0\.0\.1:\d+/rescale/[\w-]+/data-plane-demo@sha256:(\w{64})", image[2]
    )
    assert reference and image[1].endswith(":" + reference[1][:12])  # a content-derived tag
    assert "uploaded 3 parameter files to the task's storage" in out
    assert re.search(r"^submitted 3 jobs to task \S+$", out, re.M)
    assert "jobs: SUCCEEDED 3" in out
    assert re.search(r"^downloaded 3 results \([\d,]+ bytes\)$", out, re.M)
    assert out.rstrip().endswith("all 3 results verified")
    assert "wrong:" not in out


def test_without_the_registry_the_example_says_what_to_install(tmp_path: Path) -> None:
    done = run(env={**os.environ, "PATH": str(tmp_path)})  # no docker-registry to find there
    assert done.returncode == 2
    assert "this example needs a local registry and S3 server:" in done.stderr
    assert "apt-get install docker-registry apache2-utils" in done.stderr
    assert "Traceback" not in done.stderr
