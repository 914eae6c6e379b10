"""``python -m benchmarks`` (``nox -s bench``): the issue 5 benchmarks; see ``runner``."""

from __future__ import annotations

import sys

from .runner import main

if __name__ == "__main__":
    sys.exit(main())
