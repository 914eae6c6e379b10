"""The platform emulator for the orchestration tests: quick statuses, a client on it that never
waits for its own backoff, the tutorial's files and job definition.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.lowlevel
from transfer_support import facades

from rescale_async import PlatformClient
from rescale_async.emulator import Emulator, PlatformConfig
from rescale_async.platform.orchestration import Files, Jobs

CALCULATE_PI = """\
import sys

terms = int(open(sys.argv[1]).read())
estimate = 4 * sum((-1) ** k / (2 * k + 1) for k in range(terms))
print(f"pi is about {estimate:.6f} after {terms} terms")
with open("pi_estimate.res", "w") as out:
    out.write(f"{estimate}\\n")
with open("results/pi_estimate.bin", "wb") as out:
    out.write(estimate.hex().encode())
"""


async def no_wait(_: float) -> None:
    """The client's own waits (settling, backoff) cost no time in these tests."""
    await anyio.lowlevel.checkpoint()


def platform_client(emu: Emulator, **kwargs: Any) -> PlatformClient:
    """A PlatformClient of the emulator (in process unless it is served), unpaced."""
    kwargs.setdefault("rate_limits", None)
    kwargs.setdefault("sleep", no_wait)
    return emu.platform_client(**kwargs)


@dataclass
class Platform:
    emu: Emulator
    client: PlatformClient

    @property
    def jobs(self) -> Jobs:
        return facades(self.client)[0]

    @property
    def files(self) -> Files:
        return facades(self.client)[1]

    def requests(self, method: str, template: str) -> int:
        """Requests the emulator received for ``METHOD /template`` (below ``/api/v2``)."""
        return self.emu.counters.requests.get(f"{method} {template}", 0)


@asynccontextmanager
async def emulated(**platform: Any) -> AsyncIterator[Platform]:
    """An emulator whose jobs move quickly, and a client on it."""
    settings = {"status_delay": 0.01, **platform}
    async with (
        Emulator(seed=7, platform=PlatformConfig(**settings)) as emu,
        platform_client(emu) as client,
    ):
        yield Platform(emu, client)


def tutorial_inputs(directory: Path) -> list[Path]:
    """The notebook's inputs: ``calculate_pi.py`` and ``range.inp``."""
    script = directory / "calculate_pi.py"
    script.write_text(CALCULATE_PI)
    terms = directory / "range.inp"
    terms.write_text("1000\n")
    return [script, terms]


def tutorial_job(
    command: str = "mkdir -p results && python3 calculate_pi.py range.inp", **extra: Any
) -> dict[str, Any]:
    """The notebook's job definition (bring your own software, on granite)."""
    return {
        "name": "Rescale UserApi Reference Tutorial",
        "jobanalyses": [
            {
                "analysis": {"code": "user_included", "version": "0"},
                "command": command.replace("python3", sys.executable),
                "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1},
            }
        ],
        **extra,
    }
