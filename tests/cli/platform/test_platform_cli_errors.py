"""How the platform commands' failures read: one line, an exit code, a hint that fits."""

from __future__ import annotations

import io

import httpx
import pytest

from rescale_async._core.exceptions import (
    APIConnectionError,
    NoMatchError,
    WaitTimeoutError,
)
from rescale_async.cli import run
from rescale_async.cli._app import build_parser
from rescale_async.cli.platform._errors import describe_platform
from rescale_async.cli.platform._execute import HANDLERS


def test_an_unreachable_api_names_the_platform_settings() -> None:
    request = httpx.Request("GET", "http://h/api/v2/jobs/")
    assert describe_platform(APIConnectionError(request, reason="refused")) == (
        1,
        "cannot reach the API (GET /api/v2/jobs/: refused); check --base-url, --region or "
        "RESCALE_API_URL and the network",
    )


def test_local_files_lookups_and_timeouts() -> None:
    missing = FileNotFoundError(2, "No such file or directory", "/data/in.zip")
    assert describe_platform(missing) == (2, "/data/in.zip: No such file or directory")
    assert describe_platform(NoMatchError("no analysis with code 'x'")) == (
        4,
        "no analysis with code 'x'",
    )
    # a TimeoutError, hence an OSError, but the service's: an API error, not a local file's
    late = WaitTimeoutError("job ab did not reach 'Completed' within 1 s", result=None)
    assert describe_platform(late) == (1, "job ab did not reach 'Completed' within 1 s")
    assert describe_platform(RuntimeError("a bug")) is None


async def test_help_of_run_shows_a_definition_and_the_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert await run(["platform", "run", "--help"], stdin=io.StringIO()) == 0
    shown = capsys.readouterr().out
    assert "analysis: {code: user_included" in shown and "exit codes:" in shown
    assert "--ledger PATH" in shown and "--wait-for-cluster" not in shown
    assert await run(["platform", "jobs", "delete", "--help"]) == 0
    assert "--wait-for-cluster" in capsys.readouterr().out


async def test_options_before_and_after_the_command_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the connection options hold wherever they are given: a conflict found either way
    for argv in (
        ["--base-url", "http://h/api/v2", "platform", "--region", "eu", "coretypes"],
        ["platform", "-q", "--region", "eu", "coretypes", "--base-url", "http://h/api/v2"],
    ):
        assert await run(argv) == 2
        assert capsys.readouterr().err == (
            "rescale-async: error: give --region or --base-url, not both (--region eu)\n"
        )


def test_every_platform_command_has_a_handler() -> None:
    handlers: set[str] = set()

    def walk(parser: object) -> None:
        for action in getattr(parser, "_actions", []):
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for child in choices.values():
                    handler = child.get_default("platform_handler")
                    if handler is not None:
                        handlers.add(handler)
                    walk(child)

    walk(build_parser())
    assert handlers == set(HANDLERS)
    assert len(handlers) == 20
