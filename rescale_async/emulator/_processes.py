"""Job processes of both emulated APIs: each runs in a session of its own, so signals reach
everything it started; stopping one is SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import signal
import sys

import anyio
import anyio.abc

__all__ = ["POSIX", "signal_group", "terminate"]

POSIX = sys.platform != "win32"
"""Whether jobs get sessions of their own (``start_new_session=POSIX``) to signal as a group."""


def signal_group(process: anyio.abc.Process, sig: int) -> None:
    """Send ``sig`` to the job's whole process group (its own session), or to it alone."""
    try:
        if POSIX:
            os.killpg(process.pid, sig)
        elif sig == signal.SIGTERM:
            process.terminate()
        else:
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass


async def terminate(process: anyio.abc.Process, grace: float) -> None:
    """SIGTERM the job's processes, SIGKILL them after ``grace`` seconds; wait for its end."""
    signal_group(process, signal.SIGTERM)
    with anyio.move_on_after(grace):
        await process.wait()
        return
    signal_group(process, signal.SIGKILL)
    await process.wait()
