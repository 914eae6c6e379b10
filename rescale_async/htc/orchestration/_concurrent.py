"""Running calls side by side in a task group, each to its end, errors unwrapped (the shared
core's ``run_all``).
"""

from __future__ import annotations

from ..._core.concurrency import run_all

__all__ = ["run_all"]
