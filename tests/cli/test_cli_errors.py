"""Failures: one line on stderr, no traceback, and an exit code saying what kind."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cli_support import Cli, error_line, request, served_emulator

from rescale_async import APIConnectionError, ConfigurationError
from rescale_async.cli import main, run
from rescale_async.cli._app import build_parser
from rescale_async.cli._commands import HANDLERS
from rescale_async.cli._errors import EXIT_API, describe
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


def submit_argv(cli: Cli, file: str) -> tuple[str, ...]:
    """A submit to a task that does not exist: a bad file is refused before any request."""
    return ("jobs", "submit", cli.project, "no-such-task", file)


BAD_FILES = [
    (
        "jobs.json",
        "[{]",
        r"jobs.json is not valid JSON: Expecting property name .* \(line 1, column 3\)",
    ),
    ("jobs.json", "image: x", r"jobs.json is not valid JSON: Expecting value \(line 1, column 1\)"),
    ("spec.yaml", "image: [x\n", r"spec.yaml is not valid YAML: .* \(line 2, column 1\)"),
    ("jobs.txt", "[1, 2", r"jobs.txt is not valid JSON: .*line 1"),
    ("empty.yaml", "", r"empty.yaml is empty: expected an array of submit requests or a JobSpec"),
    ("list.json", "[]", r"list.json holds an empty array: nothing to submit"),
    ("number.json", "42", r"number.json holds a int: expected an array"),
    (
        "jobs.json",
        json.dumps([{"batchSize": 1, "htcJobDefinition": {"commands": ["x"]}}]),
        r"jobs.json is not a valid array of submit requests: "
        r"\[0\]\.htcJobDefinition\.imageName: Field required$",
    ),
    (
        "jobs.json",
        json.dumps([request("pass", batch_size=0), request("pass", batch_size=5000)]),
        r"\[0\]\.batchSize: Input should be greater than or equal to 1 \(and 1 more problem\)$",
    ),
    (
        "one.json",
        json.dumps(request("pass")),
        r"one.json holds one submit request: put it in an array \(\[\.\.\.\]\)",
    ),
    (
        "spec.yaml",
        "image: python:3.11\nvcpus: 999\nmemory_mib: 1\n",
        r"spec.yaml is not a valid JobSpec: vcpus: .*less than or equal to 64; memory_mib: ",
    ),
    ("spec.yaml", "image: Not An Image\n", r"'Not An Image' is not an image reference"),
    (
        "spec.yaml",
        "imag: python:3.11\n",
        r"spec.yaml is not a valid JobSpec: image: Field required",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
async def test_a_bad_submit_file_is_a_usage_error_naming_the_problem(
    cli: Cli, tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = await cli(*submit_argv(cli, str(path)))
    assert result.code == 2
    assert result.out == ""
    line = error_line(result)
    assert line.startswith("rescale-async: error: ")
    assert re.search(message, line.replace(str(tmp_path) + "/", "")), line


async def test_unreadable_files(cli: Cli, tmp_path: Path) -> None:
    missing = await cli(*submit_argv(cli, str(tmp_path / "nope.json")))
    assert missing.code == 2
    assert error_line(missing).endswith("nope.json: no such file")
    directory = await cli(*submit_argv(cli, str(tmp_path)))
    assert directory.code == 2
    assert "a directory, not a JSON or YAML file" in error_line(directory)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    undecodable = await cli(*submit_argv(cli, str(binary)))
    assert undecodable.code == 2
    assert "not UTF-8 text" in error_line(undecodable)
    piped = await cli(*submit_argv(cli, "-"), stdin="{oops")
    assert piped.code == 2
    assert error_line(piped).startswith("rescale-async: error: stdin is not valid JSON")


async def test_count_applies_only_to_a_jobspec(cli: Cli) -> None:
    body = json.dumps([request("pass")])
    result = await cli(*submit_argv(cli, "-"), "--count", "2", stdin=body)
    assert result.code == 2
    assert "--count applies to a JobSpec file" in error_line(result)


async def test_unknown_ids_are_not_found(cli: Cli) -> None:
    task = await cli.task()
    for argv in (
        ("jobs", "get", cli.project, task, "nope:0"),
        ("jobs", "logs", cli.project, task, "nope:0"),
        ("jobs", "logs", cli.project, task, "nope:0", "-f"),
        ("jobs", "events", cli.project, task, "nope:0"),
        ("tasks", "stats", cli.project, "no-such-task"),
        ("watch", cli.project, task, "no-such-task"),
        ("projects", "get", "no-such-project"),
    ):
        result = await cli(*argv)
        assert result.code == 4, (argv, result.err)
        assert error_line(result).startswith("rescale-async: error: not found ("), argv
        assert "jobs list PROJECT TASK" in result.err


async def test_a_bad_api_key_is_an_auth_error_that_never_shows_the_key(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESCALE_API_KEY", "wrong-SECRET-key")
    result = await cli("projects", "list")
    assert result.code == 3
    line = error_line(result)
    assert "authentication failed" in line and "401" in line
    assert "rescale-async auth login" in line
    assert "wrong-SECRET-key" not in result.err + result.out


async def test_no_credentials_is_a_configuration_error(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RESCALE_API_KEY")
    result = await cli("auth", "whoami")
    assert result.code == 3
    assert "no Rescale credentials found" in error_line(result)
    missing_profile = await cli("--profile", "nobody", "projects", "list")
    assert missing_profile.code == 3
    assert "profile [nobody]" in error_line(missing_profile)


async def test_a_server_error_is_an_api_error(cli: Cli) -> None:
    faults = cli.served.emulator.faults
    with faults.inject(method="POST", path="/htc/projects/{projectId}/tasks", error_rate=1.0):
        result = await cli("tasks", "create", cli.project, "doomed")
    assert result.code == 1
    assert "503" in error_line(result)


async def test_usage_errors_are_one_line_with_where_to_get_help(cli: Cli) -> None:
    cases = [
        (("frobnicate",), "invalid choice: 'frobnicate'"),
        (("jobs",), "the following arguments are required: COMMAND"),
        (("jobs", "list", cli.project), "the following arguments are required: task"),
        (("jobs", "list", "p", "t", "--status", "runing"), "unknown status 'runing'; one of"),
        (("jobs", "logs", "p", "t", "j", "--tail", "-1"), "expected a whole number >= 0"),
        (("jobs", "submit", "p", "t", "-", "--count", "0"), "expected a whole number >= 1"),
        (("watch", "p", "t", "--interval", "0"), "expected a number of seconds > 0"),
        (("watch", "p", "t", "--interval", "nan"), "expected a number of seconds > 0"),
        (("watch", "p", "t", "--interval", "soon"), "expected a number of seconds > 0"),
        (("jobs", "logs", "p", "t", "j", "--tail", "all"), "expected a whole number >= 0"),
        (("jobs", "submit", "p", "t", "-", "--count", "many"), "expected a whole number >= 1"),
        (("--output", "yaml", "projects", "list"), "invalid choice: 'yaml'"),
        (("projects", "list", "extra"), "unrecognized arguments: extra"),
    ]
    for argv, message in cases:
        result = await cli(*argv)
        assert result.code == 2, argv
        assert result.out == ""
        line = error_line(result)
        assert message in line, line
        assert line.endswith("--help')")


async def test_help_documents_the_exit_codes(cli: Cli) -> None:
    result = await cli("--help")
    assert result.code == 0
    for code in ("0 ", "1 ", "2 ", "3 ", "4 ", "5 ", "130 "):
        assert f"\n  {code}" in result.out
    assert "not found" in result.out and "interrupted (Ctrl-C)" in result.out
    assert "RESCALE_API_KEY" in result.out
    sub = await cli("jobs", "logs", "--help")
    assert sub.code == 0 and "--follow" in sub.out and "exit codes:" in sub.out
    assert (await cli("emulator", "serve", "--help")).code == 2  # only main() serves


def test_every_command_has_a_handler() -> None:
    parser = build_parser()
    handlers: set[str] = set()

    def walk(p: object) -> None:
        for action in getattr(p, "_actions", []):
            choices = getattr(action, "choices", None)
            if isinstance(choices, dict):
                for child in choices.values():
                    handler = child.get_default("handler")
                    if handler is not None:
                        handlers.add(handler)
                    walk(child)

    walk(parser)
    assert handlers == set(HANDLERS)


def test_connection_failures_and_bugs() -> None:
    request_ = httpx.Request("GET", "http://127.0.0.1:9/api/v1/htc/projects")
    code, message = describe(APIConnectionError(request_)) or (0, "")
    assert code == EXIT_API and message.startswith("cannot reach the API")
    assert describe(ConfigurationError("no\ncredentials")) == (3, "no credentials")
    assert describe(KeyError("bug")) is None  # a bug is not dressed up as a user error


async def test_json_files_need_no_yaml_and_yaml_files_say_how_to_get_it(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    spec = tmp_path / "spec.yaml"
    spec.write_text("image: python:3.11\n")
    result = await cli(*submit_argv(cli, str(spec)))
    assert result.code == 2
    assert "pip install 'rescale-async[cli]'" in error_line(result)
    as_json = await cli(*submit_argv(cli, "-"), stdin="{}")
    assert "is not a valid JobSpec: image: Field required" in error_line(as_json)


async def test_run_returns_codes_without_raising(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(["--version"]) == 0
    assert capsys.readouterr().out.startswith("rescale-async ")


def test_main_runs_commands_and_delegates_emulator_serve(
    served: ServedEmulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESCALE_API_KEY", served.api_key)
    assert main(["--base-url", served.base_url, "-o", "json", "projects", "list"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["projectId"] == served.project_id
    assert main(["projects", "get", "x", "--base-url", served.base_url]) == 4
    assert "not found" in capsys.readouterr().err
    assert main(["emulator", "serve", "--help"]) == 0
    assert "--refresh-interval" in capsys.readouterr().out  # the emulator's own options
    assert main(["emulator", "serve", "--port", "soon"]) == 2
    assert main(["nothing"]) == 2


def test_an_api_key_given_as_an_option_is_masked_in_the_parsed_arguments() -> None:
    args = build_parser().parse_args(["auth", "login", "--api-key", "key-SECRET-1"])
    assert "key-SECRET-1" not in repr(args)
    assert args.api_key.get_secret_value() == "key-SECRET-1"
