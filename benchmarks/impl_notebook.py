"""The tutorial notebook's own code (``../shared/reference/003_*``), with ``requests``.

Its functions are kept as the notebook writes them (names, 4 KiB file I/O, a fresh connection
per call, the ``/contents`` path without its slash, which the server redirects). The changes,
each needed for the code to run here, are marked ``adapted``:

- every call goes through ``_request``, which waits out a 429 (``Retry-After``) and sends the
  request again: the notebook stops at the first one (``raise_for_status``), and (i) runs
  under the scopes' limits. (f) has no limits, so there it never waits;
- ``_chunk_download`` sets ``Range`` on a copy of the headers: the notebook sets it on the dict
  all its threads share, so a thread can send another thread's range;
- the parts and the result go to the destination's directory instead of the working directory.

(f) ``download`` is the notebook's ``concurrent_download`` with its 10 threads; (i) ``run_jobs``
is the hand-written loop its cells make: upload each job's inputs, create, submit, then poll
each job until Completed, list its files, download each and check its SHA-512.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import namedtuple
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import requests

__all__ = ["download", "run_jobs"]

SENT = {"requests": 0, "throttled": 0}
_SENT_LOCK = threading.Lock()


def _request(method: str, url: str, **kwargs: Any) -> requests.Response:
    """adapted: ``requests.request``, sent again after a 429 once ``Retry-After`` has passed.
    ``files`` may be a callable making the parts anew (an upload's file is read by each try).
    """
    make_files: Callable[[], Any] | None = kwargs.pop("files", None)
    while True:
        parts = make_files() if make_files is not None else None
        try:
            response = requests.request(method, url, files=parts, **kwargs)
        finally:
            for _, (_, stream, _) in parts or []:
                stream.close()
        with _SENT_LOCK:
            SENT["requests"] += 1
            if response.status_code == 429:
                SENT["throttled"] += 1
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("Retry-After", "1")))


# ---------------------------------------------------------------------------------- pages


def get_all_result_pages(
    url: str,
    headers: dict[str, str] = {},  # noqa: B006
    params: dict[str, Any] = {},  # noqa: B006
) -> list[dict[str, Any]]:
    results = []

    res = _request("GET", url, headers=headers, params=params)
    res.raise_for_status()

    results.extend(res.json()["results"])

    while res.json()["next"] != None:  # noqa: E711
        res = _request("GET", res.json()["next"], headers=headers)
        res.raise_for_status()
        results.extend(res.json()["results"])

    return results


# ---------------------------------------------------------------------------------- (f)

Chunk = namedtuple("Chunk", ["idx", "start_byte", "end_byte"])
FILE_IO_CHUNK_SIZE = 4096


def calculate_file_hash(file_path: str | os.PathLike[str]) -> str:
    hash_sha512 = hashlib.sha512()

    with open(file_path, "rb") as file:
        for chunk in iter(lambda: file.read(FILE_IO_CHUNK_SIZE), b""):
            hash_sha512.update(chunk)

    return hash_sha512.hexdigest()


def concatenate_files(
    output_file: str | os.PathLike[str],
    *input_files: str | os.PathLike[str],
    delete_inputs: bool = True,
) -> None:
    with open(output_file, "wb") as output:
        for file_name in input_files:
            with open(file_name, "rb") as input_file:
                chunk = input_file.read(FILE_IO_CHUNK_SIZE)
                while chunk:
                    output.write(chunk)
                    chunk = input_file.read(FILE_IO_CHUNK_SIZE)
            if delete_inputs:
                os.remove(file_name)


def _chunk_download(
    api_url: str, headers: dict[str, str], file_id: str, dir_path: Path, file_chunk: Chunk
) -> None:
    headers = {**headers}  # adapted: each thread its own headers
    headers["Range"] = f"bytes={file_chunk.start_byte}-{file_chunk.end_byte}"
    response = _request("GET", f"{api_url}/api/v2/files/{file_id}/contents", headers=headers)
    response.raise_for_status()

    with open(Path(dir_path, f"{file_id}.{file_chunk.idx}"), "wb") as fd:
        for chunk in response.iter_content(FILE_IO_CHUNK_SIZE):
            fd.write(chunk)


def concurrent_download(  # noqa: PLR0917 - the notebook's signature
    api_url: str,
    headers: dict[str, str],
    file_id: str,
    dir_path: Path = Path("."),
    file_name: str | None = None,
    num_threads: int = 10,
    threshold_mb: int = 50,
) -> None:
    # get file size to determine whether splitting makes sense
    response = _request("GET", f"{api_url}/api/v2/files/{file_id}/", headers=headers)
    response.raise_for_status()

    decrypted_size = response.json()["decryptedSize"]

    # Check if size is above threshold, if not download in one piece
    num_threads = num_threads if decrypted_size > threshold_mb * 1048576 else 1

    file_hash = response.json()["fileChecksums"][0]["fileHash"]
    file_name = file_name if file_name != None else response.json()["name"]  # noqa: E711

    chunk_size = int(decrypted_size / num_threads)
    threads = []
    for idx in range(0, num_threads):
        start_byte = idx * chunk_size

        # Make sure the last chunk fetches all remaining bytes
        end_byte = (idx + 1) * chunk_size - 1 if idx != num_threads - 1 else decrypted_size + 1

        t = threading.Thread(
            target=_chunk_download,
            args=(
                api_url,
                headers,
                file_id,
                dir_path,
                Chunk(idx, start_byte, end_byte),
            ),
        )
        t.start()
        threads.append(t)

    for t in threads:
        t.join()

    concatenate_files(
        Path(dir_path, file_name),  # adapted: beside the parts, not in the working directory
        *[Path(dir_path, f"{file_id}.{idx}") for idx in range(0, num_threads)],
    )

    # Compare file hashes to make sure downloaded file is not corrupted.
    filehash = calculate_file_hash(Path(dir_path, file_name))
    if filehash != file_hash:
        raise Exception("File hashes not equal. Corrupted file download.")


def _api_url(params: dict[str, Any]) -> str:
    """The notebook's ``api_url``: the host, without ``/api/v2``."""
    return str(params["base_url"]).removesuffix("/api/v2")


def download(params: dict[str, Any]) -> dict[str, Any]:
    """(f) ``concurrent_download(api_url, headers, file_id, num_threads=10)``."""
    dest = Path(params["dest"])
    headers = {"Authorization": f"Token {params['api_key']}"}
    concurrent_download(
        _api_url(params),
        headers,
        params["file_id"],
        dir_path=dest.parent,
        file_name=dest.name,
        num_threads=params["connections"],
    )
    return {"bytes": dest.stat().st_size, "requests": SENT["requests"]}


# ---------------------------------------------------------------------------------- (i)


class JobStatus(Enum):
    PENDING = "Pending"
    QUEUED = "Queued"
    STARTED = "Started"
    VALIDATED = "Validated"
    EXECUTING = "Executing"
    COMPLETED = "Completed"
    STOPPING = "Stopping"
    WAITING_FOR_CLUSTER = "Waiting for Cluster"
    FORCE_STOP = "Force Stop"
    WAITING_FOR_QUEUE = "Waiting for Queue"


def poll_for_status(  # noqa: PLR0917 - the notebook's signature
    api_url: str,
    headers: dict[str, str],
    job_id: str,
    status: JobStatus,
    interval: float = 30,
    verbose: bool = False,
) -> dict[str, Any]:
    # (the notebook's, for job statuses; it reads ``sorted_statuses`` only set when verbose,
    # so it is called with verbose=True, as the notebook does)
    while True:
        statuses = get_all_result_pages(
            f"{api_url}/api/v2/jobs/{job_id}/statuses/", headers=headers
        )

        if verbose:
            sorted_statuses = sorted(
                statuses,
                key=lambda s: datetime.fromisoformat(s["statusDate"]),
            )
            print(" > ".join([s["status"] for s in sorted_statuses]))

        status_items = [s for s in sorted_statuses if s["status"] == status.value]
        if len(status_items) > 0:
            return status_items[0]

        time.sleep(interval)


def file_upload(api_url: str, headers: dict[str, str], file_path: str) -> str:
    def files() -> list[tuple[str, tuple[str, Any, str]]]:  # adapted: made anew for each try
        return [
            (
                "file",
                (
                    os.path.basename(file_path),
                    open(file_path, "rb"),
                    "application/octet-stream",
                ),
            )
        ]

    file_upload_res = _request(
        "POST", f"{api_url}/api/v2/files/contents/", headers=headers, files=files
    )
    file_upload_res.raise_for_status()

    file_id: str = file_upload_res.json()["id"]
    return file_id


def download_file(
    api_url: str, headers: dict[str, str], file_id: str, out_dir: Path, file_name: str
) -> None:
    response = _request("GET", f"{api_url}/api/v2/files/{file_id}/contents/", headers=headers)

    chunk_size = 4096
    with open(Path(out_dir, file_name), "wb") as fd:
        for chunk in response.iter_content(chunk_size):
            fd.write(chunk)


def run_jobs(params: dict[str, Any]) -> dict[str, Any]:
    """(i) The hand-written loop of the notebook's cells, job after job."""
    api_url = _api_url(params)
    headers = {"Authorization": f"Token {params['api_key']}"}
    job_ids = []
    for index, paths in enumerate(params["inputs"]):
        file_ids = [file_upload(api_url, headers, path) for path in paths]
        job_definition = {
            "name": f"bench-{index}",
            "jobanalyses": [
                {
                    "analysis": {"code": "user_included", "version": "0"},
                    "command": params["commands"][index],
                    "hardware": {"coreType": "granite", "coresPerSlot": 2, "walltime": 1},
                    "inputFiles": [{"id": id} for id in file_ids],
                }
            ],
        }
        job_create_res = _request(
            "POST", f"{api_url}/api/v2/jobs/", headers=headers, json=job_definition
        )
        job_create_res.raise_for_status()
        job_id = job_create_res.json()["id"]
        job_submit_res = _request(
            "POST", f"{api_url}/api/v2/jobs/{job_id}/submit/", headers=headers
        )
        job_submit_res.raise_for_status()
        job_ids.append((job_id, job_definition["name"]))

    jobs = []
    for job_id, name in job_ids:
        completed = poll_for_status(
            api_url, headers, job_id, JobStatus.COMPLETED, interval=params["interval"], verbose=True
        )
        out_dir = Path(params["outputs"], job_id)
        out_dir.mkdir(parents=True, exist_ok=True)
        files = get_all_result_pages(f"{api_url}/api/v2/jobs/{job_id}/files/", headers)
        for f in files:
            download_file(api_url, headers, f["id"], out_dir, f["name"])
        verified = True
        for f in files:  # the notebook's checksum cell: metadata, then the SHA-512 of each
            file_metadata_res = _request(
                "GET", f"{api_url}/api/v2/files/{f['id']}/", headers=headers
            )
            file_metadata_res.raise_for_status()
            hash_sha512 = hashlib.sha512()
            with open(Path(out_dir, f["name"]), "rb") as file:
                for chunk in iter(lambda: file.read(4096), b""):
                    hash_sha512.update(chunk)
            verified = verified and hash_sha512.hexdigest() == f["fileChecksums"][0]["fileHash"]
        jobs.append(
            {
                "id": job_id,
                "name": name,
                "succeeded": completed.get("statusReason") == "Completed successfully",
                "verified": verified,
                "outputs": {f["name"]: str(Path(out_dir, f["name"])) for f in files},
            }
        )
    return {"jobs": jobs, "client_requests": SENT["requests"], "client_429s": SENT["throttled"]}
