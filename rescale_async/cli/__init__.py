"""The command-line layer: ``rescale-async`` (``python -m rescale_async``) and the demo.

``main(argv)`` is the console script; ``await run(argv)`` runs one command inside a running
event loop (asyncio or trio). Commands live one group per module (``_auth``, ``_projects``,
``_tasks``, ``_images``, ``_jobs``, ``_submit``, ``_watch``; the platform API's in the
``platform`` package); ``_app`` parses, ``_output`` renders (rich tables, JSON), ``_errors``
maps failures to one line and an exit code.
"""

from ._app import main, run

__all__ = ["main", "run"]
