"""Helpers for the platform tests: a respx-mocked API behind a PlatformClient, payloads shaped
as PLATFORM-V2.md describes them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import respx
from support import VirtualClock

from rescale_async import PlatformClient

BASE_URL = "https://platform.test/api/v2"
API_KEY = "plat-key-SECRET-0123456789abcdef"
JOB = "ObMcJc"
FILE = "FiLe01"


def client(**kwargs: Any) -> PlatformClient:
    """A client of the test API; unpaced and on a virtual clock unless told otherwise."""
    clock = VirtualClock()
    kwargs.setdefault("api_key", API_KEY)
    kwargs.setdefault("base_url", BASE_URL)
    kwargs.setdefault("rate_limits", None)
    kwargs.setdefault("sleep", clock.sleep)
    kwargs.setdefault("clock", clock.time)
    return PlatformClient(**kwargs)


@asynccontextmanager
async def api(**kwargs: Any) -> AsyncIterator[tuple[respx.MockRouter, PlatformClient]]:
    """A respx router for the test API (every request must match a route) and a client."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        async with client(**kwargs) as c:
            yield router, c


def page(
    results: list[Any], next_page: int | None = None, *, count: int | None = None, path: str = ""
) -> dict[str, Any]:
    """A DRF page; ``next`` is the absolute URL of page ``next_page`` of ``path``."""
    nxt = None if next_page is None else f"{BASE_URL}/{path}?page={next_page}"
    return {
        "count": len(results) if count is None else count,
        "next": nxt,
        "previous": None,
        "results": results,
    }


def sent(route: respx.Route, call: int = -1) -> Any:
    """The JSON body of one of the route's requests."""
    return json.loads(route.calls[call].request.content)


def query(route: respx.Route, call: int = -1) -> dict[str, str]:
    """The query parameters of one of the route's requests."""
    return dict(route.calls[call].request.url.params)


def coretype(code: str = "granite", cores: list[int] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": code.title(),
        "cores": [2, 4, 8, 16] if cores is None else cores,
        "memory": 4000,
        "storage": 100,
        "processorInfo": "Intel Xeon",
        "categoryCodes": ["general"],
        "price": "0.05",
        "lowPriorityPrice": "0.02",
        "isActive": True,
        **extra,
    }


def file_json(file_id: str = FILE, name: str = "out.dat", **extra: Any) -> dict[str, Any]:
    return {
        "id": file_id,
        "name": name,
        "typeId": 5,
        "dateUploaded": "2024-05-06T07:08:09.123456-07:00",
        "relativePath": name,
        "path": f"user/abc/output/{name}",
        "pathParts": {"container": "prod-storage", "path": f"abc/output/{name}"},
        "downloadUrl": f"{BASE_URL}/files/{file_id}/contents/",
        "decryptedSize": 1234,
        "isUploaded": True,
        "isDeleted": False,
        "owner": "user@example.com",
        "fileChecksums": [{"hashFunction": "sha512", "fileHash": "ab" * 64}],
        "encodedEncryptionKey": "ENC-KEY-SECRET",
        "storage": {"id": "s1", "storageType": "S3Storage"},
        **extra,
    }


def job_json(job_id: str = JOB, **extra: Any) -> dict[str, Any]:
    return {
        "id": job_id,
        "name": "Tutorial",
        "description": "",
        "projectId": None,
        "isLowPriority": True,
        "dateInserted": "2024-05-06T07:08:09Z",
        "owner": "user@example.com",
        "jobanalyses": [
            {
                "analysis": {"code": "user_included", "version": "0", "name": "Bring Your Own"},
                "command": "python3 calculate_pi.py range.inp",
                "hardware": {"coreType": "granite", "coresPerSlot": 2, "slots": 1, "walltime": 1},
                "inputFiles": [{"id": "in1", "name": "range.inp", "decompress": True}],
                "envVars": {},
                "flags": {},
                "useRescaleLicense": False,
            }
        ],
        **extra,
    }


def status(name: str, date: str, reason: str | None = None) -> dict[str, Any]:
    return {"status": name, "statusDate": date, "statusReason": reason}


def definition(**hardware: Any) -> dict[str, Any]:
    """The tutorial's job definition (snake_case or camelCase keys both accepted)."""
    return {
        "name": "Rescale UserApi Reference Tutorial",
        "jobanalyses": [
            {
                "analysis": {"code": "user_included", "version": "0"},
                "command": "python3 calculate_pi.py range.inp",
                "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1, **hardware},
            }
        ],
        "projectId": None,
    }
