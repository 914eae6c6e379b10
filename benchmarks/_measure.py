"""What a measurement child reports, and how it reads its own memory (stdlib only).

Kept free of any HTTP library so that importing it costs every implementation the same.
"""

from __future__ import annotations

import json
import resource
import sys
from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = ["RESULT_PREFIX", "Measurement", "Unavailable", "current_rss_kib", "peak_rss_kib"]

RESULT_PREFIX = "BENCH-RESULT "
"""The line of a child's stdout that carries its Measurement as JSON."""


class Unavailable(Exception):
    """The implementation has no way (yet) to do this scenario."""


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_kib() -> int:
    """This process's peak resident set size so far, in KiB.

    On Linux ``VmHWM``: ``ru_maxrss`` is carried across ``execve``, so a child started by a
    large parent reports the parent's RSS at the fork as its own peak. Elsewhere
    ``ru_maxrss``.
    """
    hwm = _status_kib("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak // 1024) if sys.platform == "darwin" else int(peak)  # macOS: bytes


def current_rss_kib() -> int:
    """This process's resident set size now, in KiB (on Linux; elsewhere its peak)."""
    rss = _status_kib("VmRSS")
    return rss if rss is not None else peak_rss_kib()


@dataclass
class Measurement:
    """One implementation's run of one scenario."""

    seconds: float | None = None
    """Wall time of the timed region (client creation, token, the work, closing)."""
    peak_rss_kib: int | None = None
    start_rss_kib: int | None = None
    """RSS when the timed region began (imports done, nothing fetched yet)."""
    unavailable: str | None = None
    """Why the implementation cannot run this scenario (e.g. an SDK method not there yet)."""
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Scenario-specific facts: items received, requests, timestamps..."""

    def to_line(self) -> str:
        return RESULT_PREFIX + json.dumps(asdict(self))

    def wrong(self, problem: str) -> Measurement:
        """This run, failed by a check of its result: no time to report."""
        return replace(self, error=f"wrong result: {problem}", seconds=None)

    def summary(self) -> str:
        """One line for the progress log: time and peak RSS, or why there are none."""
        if self.unavailable:
            return f"unavailable ({self.unavailable})"
        if self.error:
            return f"ERROR {self.error}"
        return f"{self.seconds:.2f} s, peak {(self.peak_rss_kib or 0) / 1024:.0f} MiB"

    @classmethod
    def from_output(cls, stdout: str) -> Measurement | None:
        for line in reversed(stdout.splitlines()):
            if line.startswith(RESULT_PREFIX):
                return cls(**json.loads(line[len(RESULT_PREFIX) :]))
        return None
