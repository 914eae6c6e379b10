"""Inside a running HTC job: the task and region it runs for, from its environment."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ...._core.exceptions import ConfigurationError
from ...types import TaskRef

__all__ = ["current_region", "current_task"]


def current_task(environ: Mapping[str, str] | None = None) -> TaskRef:
    """The task of the HTC job this code runs in (``RESCALE_HTC_PROJECT_ID``,
    ``RESCALE_HTC_TASK_ID``): ``await client.storage.upload(current_task(), "out/")``.
    """
    env = os.environ if environ is None else environ
    names = ("RESCALE_HTC_PROJECT_ID", "RESCALE_HTC_TASK_ID")
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise ConfigurationError(
            f"{' and '.join(missing)} not set: current_task() works inside a running HTC job; "
            "elsewhere name the task as TaskRef(project_id, task_id)"
        )
    return TaskRef(env[names[0]], env[names[1]])


def current_region(environ: Mapping[str, str] | None = None) -> str | None:
    """The region the HTC job this code runs in was placed in (``RESCALE_HTC_REGION``), whose
    storage its files belong in; None outside a job.
    """
    env = os.environ if environ is None else environ
    return env.get("RESCALE_HTC_REGION") or None
