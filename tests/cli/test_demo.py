"""The README's main job runs end to end on the embedded emulator."""

from __future__ import annotations

import io
import subprocess
import sys

from rescale_async import JobStatus, Progress
from rescale_async.cli.demo import ProgressLine, run


async def test_demo_runs_a_sweep_and_shows_a_failure_log() -> None:
    out = io.StringIO()
    assert await run(jobs=14, out=out) == 0
    text = out.getvalue()
    assert "submitted 14 jobs" in text
    assert "] 14/14  failed 2, succeeded 12" in text
    assert "SUCCEEDED  12" in text and "FAILED     2" in text
    assert "log of failed job" in text
    assert "(x=4, ErrorNonZeroContainerExitCode)" in text
    assert "point x=4: diverged, giving up" in text


def test_the_progress_line_redraws_in_place_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    line = ProgressLine(screen, width=4)
    line(Progress({JobStatus.RUNNING: 2}, 4))
    line(Progress({JobStatus.SUCCEEDED: 4}, 4))
    assert screen.getvalue() == ("\r\x1b[2K[....] 0/4  running 2\r\x1b[2K[####] 4/4  succeeded 4\n")


def test_python_m_rescale_async_demo() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rescale_async", "demo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "summary:" in result.stdout
    assert "diverged" in result.stdout


def test_demo_without_the_emulator_extra_says_how_to_get_it() -> None:
    script = (
        "import sys; sys.modules['starlette'] = None\n"
        "from rescale_async.__main__ import main\n"
        "sys.exit(main(['demo']))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    assert "pip install 'rescale-async[emulator]'" in result.stderr
    assert "Traceback" not in result.stderr
