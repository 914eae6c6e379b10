"""``auth whoami``, ``projects``, ``tasks`` and ``images`` against a served emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_support import Cli, error_line, served_emulator

from rescale_async.emulator import ServedEmulator


@pytest.fixture(scope="module")
def served() -> Iterator[ServedEmulator]:
    with served_emulator() as served:
        yield served


@pytest.fixture
def cli(
    served: ServedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Cli:
    return Cli(served, capsys, monkeypatch)


async def test_whoami_names_the_user_and_where_the_credentials_came_from(cli: Cli) -> None:
    table = await cli.ok("auth", "whoami")
    assert "emulator@example.com" in table
    assert "Emulator Workspace (04-emulator)" in table
    assert "environment" in table
    assert cli.served.api_key not in table
    data = await cli.json("auth", "whoami")
    assert data["user"]["email"] == "emulator@example.com"
    assert data["credentials"] == "environment"
    assert data["baseUrl"] == cli.served.base_url


async def test_projects_list_and_get(cli: Cli) -> None:
    table = await cli.ok("projects", "list")
    header, rule, row = table.splitlines()[:3]
    assert header.split()[:3] == ["PROJECT", "ID", "NAME"]
    assert set(rule.strip()) == {"─"}
    assert row.split()[:2] == [cli.project, "emulator-project"]
    listed = await cli.json("projects", "list")
    assert [p["projectId"] for p in listed] == [cli.project]
    assert listed[0]["projectName"] == "emulator-project"  # wire names, model_dump(mode="json")
    assert await cli.json("projects", "list", "--limit", "0") == []

    details = await cli.ok("projects", "get", cli.project)
    assert "project_name" in details and "emulator-project" in details
    assert (await cli.json("projects", "get", cli.project))["projectId"] == cli.project
    # the global options may also follow the command
    after = await cli.ok("projects", "get", cli.project, "--output", "json")
    assert '"projectId"' in after


async def test_tasks_create_list_stats_and_delete(cli: Cli) -> None:
    created = await cli.json("tasks", "create", cli.project, "tasks-test", "--description", "d")
    task = created["taskId"]
    assert created["taskName"] == "tasks-test" and created["taskDescription"] == "d"
    table = await cli.ok("tasks", "list", cli.project)
    assert any(line.split()[:2] == [task, "tasks-test"] for line in table.splitlines())
    assert task in [t["taskId"] for t in await cli.json("tasks", "list", cli.project)]

    stats = await cli.ok("tasks", "stats", cli.project, task)
    assert ["TOTAL", "0"] in [line.split() for line in stats.splitlines()]
    data = await cli.json("tasks", "stats", cli.project, task, "--by-group")
    assert data["total"] == 0 and data["groups"] == []
    assert data["jobStatuses"]["SUCCEEDED"] == 0

    deleted = await cli.ok("tasks", "delete", cli.project, task)
    assert deleted.strip() == f"deleted task {task} of project {cli.project}"
    remaining = await cli.json("tasks", "list", cli.project)
    assert task not in [t["taskId"] for t in remaining if t["lifecycleStatus"] != "DELETED"]


async def test_images_list_status_and_create_repo(cli: Cli) -> None:
    listing = await cli.ok("images", "list", cli.project)
    assert listing.startswith("registry: ") and cli.project in listing.splitlines()[0]
    assert "python:3.11" in listing.split()
    images = await cli.json("images", "list", cli.project)
    assert "python:3.11" in images["images"]

    assert (await cli.ok("images", "status", cli.project, "python:3.11")) == "python:3.11: READY\n"
    status = await cli.json("images", "status", cli.project, "python:3.11")
    assert status == {"image": "python:3.11", "status": "READY"}

    repo = await cli.json("images", "create-repo", cli.project, "cli-repo")
    assert repo["repositoryName"] == "cli-repo"
    assert repo["registryURI"].endswith("/cli-repo")
    assert "cli-repo" in await cli.ok("images", "create-repo", cli.project, "cli-repo")

    missing = await cli("images", "status", cli.project, "nothing-here:1")
    assert missing.code == 4
    assert "not found" in error_line(missing)
    bad = await cli("images", "status", cli.project, "Bad Name!")
    assert bad.code == 2
    assert "'Bad Name!' is not a valid image name" in error_line(bad)
