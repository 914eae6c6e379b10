"""The platform guide and migration table cannot rot: every ``client.<resource>.<method>`` they
name exists, and the migration table covers every function of the tutorial notebook and every
public call of rescalepy's client.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rescale_async import PlatformClient

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("platform.md", "platform-migration.md")

NOTEBOOK_FUNCTIONS = (
    "get_all_result_pages",
    "poll_for_job_status",
    "poll_for_status",
    "file_upload",
    "download_file",
    "create_zip",
    "get_process_output_lines",
    "calculate_file_hash",
    "concatenate_files",
    "concurrent_download",
    "create_split_archive",
    "parallel_upload",
    "key_based_connect",
)
"""Every public function the notebook (Api_UserAPI_Reference's README.ipynb) defines."""

RESCALEPY_CALLS = (
    "Client",
    "create_job",
    "add_job_to_project",
    "submit_job",
    "wait_for_job",
    "upload",
    "upload_file",
    "get_job_details",
    "get_job_status",
    "download",
    "download_file",
    "list_job_results_files",
    "list_job_results",
    "download_all_results",
    "list_analyses",
    "get_latest_software_version",
    "get_core_types",
    "get_cheapest_core",
    "get",
    "BatchRunner",
)
"""rescalepy 0.4.2's public API: its ``Client`` and its methods, and ``batch.BatchRunner``."""

CALL = re.compile(r"\bclient\.(\w+)\.(\w+)\(")


def _sections(text: str) -> dict[str, str]:
    return {part.split("\n", 1)[0]: part for part in text.split("\n## ")[1:]}


@pytest.mark.parametrize("page", PAGES)
def test_every_sdk_call_named_exists(page: str) -> None:
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    client = PlatformClient("key", base_url="https://platform.example/api/v2")
    named = sorted(set(CALL.findall(text)))
    assert len(named) >= 10
    missing = [
        f"client.{resource}.{method}"
        for resource, method in named
        if not callable(getattr(getattr(client, resource, None), method, None))
    ]
    assert missing == []


def _first_cells(section: str) -> list[str]:
    return [
        line.split(" | ")[0]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| ---")
    ]


def test_the_migration_table_covers_the_notebook_and_rescalepy() -> None:
    sections = _sections((ROOT / "docs" / "platform-migration.md").read_text(encoding="utf-8"))
    notebook = " ".join(_first_cells(sections["The notebook's snippets"]))
    rescalepy = " ".join(_first_cells(sections["rescalepy"]))
    assert [f for f in NOTEBOOK_FUNCTIONS if not re.search(rf"`{f}\(", notebook)] == []
    assert [c for c in RESCALEPY_CALLS if not re.search(rf"(`|\.){c}\(", rescalepy)] == []
