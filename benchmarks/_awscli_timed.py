"""``python -m benchmarks._awscli_timed MARKS.json ARGS...``: ``aws ARGS`` as ``python -m
awscli`` runs it, noting into MARKS.json when the store acknowledged the last byte of an
upload and how long the command ran after it (for a multipart file: the store assembling the
object), as (h) notes for the SDK.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["main"]

_LAST_BYTE = ("after-call.s3.UploadPart", "after-call.s3.PutObject")


def main(argv: list[str]) -> int:
    from awscli.clidriver import HISTORY_RECORDER, create_clidriver  # noqa: PLC0415 - the bench extra

    start = time.perf_counter()
    marks: dict[str, float] = {}

    def mark(name: str) -> Callable[..., None]:
        def note(**_: Any) -> None:
            marks[name] = time.perf_counter() - start

        return note

    driver = create_clidriver()
    for event in _LAST_BYTE:
        driver.session.register(event, mark("last_byte_s"))
    rc: int = driver.main(argv[2:])
    HISTORY_RECORDER.record("CLI_RC", rc, "CLI")
    if "last_byte_s" in marks:
        marks["after_last_byte_s"] = time.perf_counter() - start - marks["last_byte_s"]
    Path(argv[1]).write_text(json.dumps(marks))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
