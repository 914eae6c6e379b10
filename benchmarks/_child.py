"""``python -m benchmarks._child PARAMS.json``: one implementation, one scenario, one process.

A fresh interpreter per measurement, so that its peak RSS belongs to that implementation
alone. Only the implementation's own module is imported (``benchmarks.impl_<name>``); the
timed region covers creating the client (and its token), the work and closing the client.
The result is printed as one ``BENCH-RESULT {json}`` line.
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ._measure import Measurement, Unavailable, current_rss_kib, peak_rss_kib

__all__ = ["main"]


def _timed(func: Callable[[dict[str, Any]], Any], params: dict[str, Any]) -> Measurement:
    if inspect.iscoroutinefunction(func):
        import anyio  # noqa: PLC0415 - only the async implementations pay for it

        async def timed() -> tuple[dict[str, Any], float, int]:
            start_rss = current_rss_kib()
            start = time.perf_counter()
            awaitable: Awaitable[dict[str, Any]] = func(params)
            extra = await awaitable
            return extra, time.perf_counter() - start, start_rss

        extra, seconds, start_rss = anyio.run(timed)
    else:
        start_rss = current_rss_kib()
        start = time.perf_counter()
        extra = func(params)
        seconds = time.perf_counter() - start
    return Measurement(
        seconds=seconds, peak_rss_kib=peak_rss_kib(), start_rss_kib=start_rss, extra=extra
    )


def main(argv: list[str]) -> int:
    params: dict[str, Any] = json.loads(Path(argv[1]).read_text())
    try:
        module = importlib.import_module(f"benchmarks.impl_{params['impl']}")
        func = getattr(module, params["scenario"])
        result = _timed(func, params)
    except Unavailable as exc:
        result = Measurement(unavailable=str(exc))
    except Exception as exc:
        traceback.print_exc()
        result = Measurement(error=f"{type(exc).__name__}: {exc}"[:300])
    print(result.to_line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
