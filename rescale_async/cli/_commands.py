"""Running a parsed command: every handler by name, errors turned into one line and a code.

Imported only once the arguments are parsed, so that ``--help``, ``demo`` and ``emulator`` work
without the ``cli`` extra (rich) installed.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from . import _auth, _images, _jobs, _projects, _storage, _submit, _tasks, _watch
from ._context import Context, Handler
from ._errors import describe, report_error
from ._output import Output

__all__ = ["HANDLERS", "execute"]

HANDLERS: dict[str, Handler] = {
    "auth.login": _auth.login,
    "auth.whoami": _auth.whoami,
    "projects.list": _projects.list_projects,
    "projects.get": _projects.get,
    "tasks.list": _tasks.list_tasks,
    "tasks.create": _tasks.create,
    "tasks.delete": _tasks.delete,
    "tasks.stats": _tasks.stats,
    "tasks.report": _tasks.report,
    "images.list": _images.list_images,
    "images.status": _images.status,
    "images.create-repo": _images.create_repo,
    "images.push": _images.push,
    "storage.upload": _storage.upload,
    "storage.download": _storage.download,
    "storage.ls": _storage.list_objects,
    "storage.rm": _storage.remove,
    "jobs.list": _jobs.list_jobs,
    "jobs.get": _jobs.get,
    "jobs.logs": _jobs.logs,
    "jobs.events": _jobs.events,
    "jobs.cancel": _jobs.cancel,
    "jobs.submit": _submit.submit,
    "watch": _watch.watch,
}


async def execute(
    args: argparse.Namespace, *, stdin: TextIO | None = None, terminal: bool | None = None
) -> int:
    """Run the command ``args`` names; the exit code. An error the user can act on becomes one
    line on stderr (``rescale-async: error: ...``); anything else is a bug and propagates.
    """
    output = Output(sys.stdout, sys.stderr, args.output, terminal=terminal)
    ctx = Context(args, output, sys.stdin if stdin is None else stdin)
    try:
        return await HANDLERS[args.handler](ctx)
    except Exception as exc:
        described = describe(exc)
        if described is None:
            raise
        return report_error(*described)
