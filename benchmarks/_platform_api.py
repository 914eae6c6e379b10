"""A small synchronous client of a served emulator's platform API v2, for seeding and checking
outside every measurement (the platform counterpart of ``_served.Api``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from ._served import RawApi, Served

__all__ = ["PlatformApi", "platform_url", "sha512_of"]

HASH_BLOCK = 1024 * 1024


def platform_url(served: Served) -> str:
    """The platform API v2 root of a served emulator (beside its HTC root, on one host)."""
    return str(httpx.URL(served.base_url).copy_with(path="/api/v2"))


def sha512_of(path: Path) -> str:
    """The SHA-512 of a file's bytes, read a megabyte at a time."""
    digest = hashlib.sha512()
    with open(path, "rb") as stream:
        while block := stream.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


class PlatformApi(RawApi):
    """Raw ``/api/v2`` calls (``Authorization: Token``); waits out a 429 and counts answers."""

    def __init__(self, served: Served) -> None:
        super().__init__(platform_url(served), {"Authorization": f"Token {served.api_key}"})

    def pages(self, url: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paged listing (``{count, next, previous, results}``)."""
        page = self._send("GET", url, params=params or None)
        while True:
            yield from page["results"]
            if not page.get("next"):
                return
            page = self._send("GET", page["next"])

    def run_job(self, name: str, command: str, *, timeout: float = 600) -> str:
        """Create and submit a ``user_included`` job running ``command``, wait until it is
        Completed successfully; its id.
        """
        body = {
            "name": name,
            "jobanalyses": [
                {
                    "analysis": {"code": "user_included", "version": "0"},
                    "command": command,
                    "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1},
                }
            ],
        }
        job_id: str = self._send("POST", "jobs/", json=body)["id"]
        self._send("POST", f"jobs/{job_id}/submit/")
        deadline = time.monotonic() + timeout
        while True:
            statuses = list(self.pages(f"jobs/{job_id}/statuses/"))
            done = [s for s in statuses if s["status"] == "Completed"]
            if done:
                if done[0].get("statusReason") != "Completed successfully":
                    raise RuntimeError(f"seeding job {job_id} failed: {done[0]}")
                return job_id
            if time.monotonic() > deadline:
                raise TimeoutError(f"seeding job {job_id} did not complete in {timeout} s")
            time.sleep(0.2)

    def output(self, job_id: str, name: str) -> dict[str, Any]:
        """The job's output file called ``name`` (its metadata: id, size, checksums)."""
        for file in self.pages(f"jobs/{job_id}/files/", search=name):
            if file["name"] == name:
                return file
        raise LookupError(f"job {job_id} has no output {name!r}")
