"""``python -m rescale_async platform ...`` as real processes (no shell) against the served
emulator, with the credentials in the environment as a user's shell would hold them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from platform_cli_support import (
    python_job,
    served,  # noqa: F401 - fixtures
)

from rescale_async.emulator import ServedEmulator


def platform_process(
    *argv: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rescale_async", "platform", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
        env={**os.environ, **env},
    )


def test_run_in_a_process_with_credentials_from_the_environment(
    served: ServedEmulator, tmp_path: Path
) -> None:
    env = {"RESCALE_API_URL": served.platform_url, "RESCALE_API_KEY": served.platform_api_key}
    definition = python_job(tmp_path, "print('from a process')", outputs="out")
    ran = platform_process("run", str(definition), "--json", "--interval", "0.02", env=env)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout)
    assert result["succeeded"] is True
    assert (tmp_path / "out" / "process_output.log").read_text() == "from a process\n"
    # not a terminal: progress as lines on stderr, nothing else
    assert ran.stderr.splitlines()[-1] == (
        f"job {result['jobId']}: Completed (Completed successfully)"
    )
