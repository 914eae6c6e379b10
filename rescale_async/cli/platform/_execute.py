"""Running a parsed ``platform`` command: every handler by name, errors as one line and a code.

Imported only once the arguments are parsed (it needs the ``cli`` extra: rich).
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from .._errors import report_error
from .._output import Output
from . import _catalogue, _clusters, _files, _jobs, _launch
from ._context import PlatformContext, PlatformHandler
from ._errors import describe_platform
from ._progress import ProgressMode, Reporter

__all__ = ["HANDLERS", "execute"]

HANDLERS: dict[str, PlatformHandler] = {
    "platform.coretypes": _catalogue.coretypes,
    "platform.analyses": _catalogue.analyses,
    "platform.run": _launch.run,
    "platform.jobs.list": _jobs.list_jobs,
    "platform.jobs.get": _jobs.get,
    "platform.jobs.submit": _launch.submit,
    "platform.jobs.wait": _jobs.wait,
    "platform.jobs.stop": _jobs.stop,
    "platform.jobs.delete": _jobs.delete,
    "platform.jobs.files": _jobs.list_files,
    "platform.jobs.download": _jobs.download,
    "platform.files.upload": _files.upload,
    "platform.files.download": _files.download,
    "platform.files.ls": _files.list_files,
    "platform.files.rm": _files.remove,
    "platform.cluster.start": _clusters.start,
    "platform.cluster.run": _clusters.run,
    "platform.cluster.put": _clusters.put,
    "platform.cluster.get": _clusters.get,
    "platform.cluster.stop": _clusters.stop,
}


def _progress_mode(quiet: bool, terminal: bool | None) -> ProgressMode:
    """Bars on a terminal (``terminal`` forces or denies one), lines elsewhere, none quiet."""
    if quiet:
        return "off"
    on_terminal = sys.stderr.isatty() if terminal is None else terminal
    return "bars" if on_terminal else "lines"


async def execute(
    args: argparse.Namespace, *, stdin: TextIO | None = None, terminal: bool | None = None
) -> int:
    """Run the platform command ``args`` names; the exit code. An error the user can act on
    becomes one line on stderr (``rescale-async: error: ...``); anything else propagates.
    ``stdin`` is unused (no platform command reads it): the signature is ``_commands``'.
    """
    del stdin
    output = Output(sys.stdout, sys.stderr, args.output, terminal=terminal)
    progress = Reporter(sys.stderr, _progress_mode(args.quiet, terminal))
    ctx = PlatformContext(args, output, progress)
    try:
        return await HANDLERS[args.platform_handler](ctx)
    except Exception as exc:
        described = describe_platform(exc)
        if described is None:
            raise
        return report_error(*described)
