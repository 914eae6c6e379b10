"""``python -m rescale_async``: the ``rescale-async`` command line (see ``rescale_async.cli``)."""

from __future__ import annotations

import sys

from .cli._app import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
