"""The ``rescale-async`` command line: the argument parser, ``main`` and ``run``.

``main(argv)`` is the console script (it owns the event loop); ``await run(argv)`` runs a
command inside a running event loop, asyncio or trio (tests, embedding). Parsing needs only
the standard library, so ``--help``, ``demo`` and ``emulator serve`` work without the ``cli``
extra; the other commands load rich (and PyYAML for YAML files) when they run.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NoReturn, TextIO, TypeAlias

import anyio
from pydantic import SecretStr

from ._errors import (
    EXIT_BROKEN_PIPE,
    EXIT_CODES_HELP,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CLIError,
    extra_missing,
    one_line,
)
from .platform._parser import add_platform_commands

__all__ = ["build_parser", "main", "run"]

PROG = "rescale-async"

DESCRIPTION = """\
Rescale HTC from the command line: projects, tasks, images and jobs; submit batches, follow
logs, watch progress. 'rescale-async platform ...' for the platform API v2 (coretypes,
analyses, jobs, files, run). Run 'rescale-async emulator serve' for a local service to try it
on (both APIs)."""

EPILOG = f"""\
credentials, as HTCClient() resolves them: RESCALE_API_KEY (or RESCALE_HTC_REFRESH_TOKEN,
RESCALE_HTC_BEARER_TOKEN), else the profile (--profile, $RESCALE_PROFILE, else [default]) of
~/.config/rescale/apiconfig, which 'auth login' writes. The API URL: --base-url, else
$RESCALE_HTC_API_URL, else the profile's htcbaseurl, else https://htc.rescale.com/api/v1.

{EXIT_CODES_HELP}"""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, with where to find help."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _bounded(
    convert: Callable[[str], float], least: float, *, above: bool, what: str
) -> Callable[[str], Any]:
    """An argparse ``type``: ``convert(text)``, at least (or above) ``least``, finite."""

    def check(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            value = float("nan")
        if not ((value > least if above else value >= least) and value < float("inf")):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return check


_positive_int = _bounded(int, 1, above=False, what="a whole number >= 1")
_count = _bounded(int, 0, above=False, what="a whole number >= 0")
_seconds = _bounded(float, 0, above=True, what="a number of seconds > 0")


def _job_status(text: str) -> str:
    from ..htc.types import JobStatus  # noqa: PLC0415  (only when the option is used)

    known = [status.value for status in JobStatus]
    value = text.strip().upper()
    if value not in known:
        raise argparse.ArgumentTypeError(f"unknown status {text!r}; one of {', '.join(known)}")
    return value


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every command takes, before or after its name (``suppress``: the copy on
    each command, which only sets what is given there).
    """

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=default(None),
        help="the apiconfig profile to use (default: $RESCALE_PROFILE, else 'default'; "
        "given, it wins over credentials in the environment)",
    )
    parser.add_argument(
        "--output",
        "-o",
        choices=["table", "json"],
        default=default("table"),
        help="tables for people (default) or JSON for programs",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        default=default(None),
        help="the HTC API root, e.g. http://127.0.0.1:8700/api/v1 for a local emulator",
    )


_Commands: TypeAlias = "argparse._SubParsersAction[_Parser]"


class _Tree:
    """Builds the command tree: groups of commands, each with the global options copied in."""

    formatter = argparse.RawDescriptionHelpFormatter

    def __init__(self, groups: _Commands) -> None:
        self.groups = groups
        self.common = _Parser(add_help=False)
        _global_options(self.common, suppress=True)

    def group(self, name: str, help_text: str) -> _Commands:
        sub = self.groups.add_parser(name, help=help_text, description=help_text)
        return sub.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        self, where: _Commands, name: str, handler: str, help_text: str, *args: str
    ) -> _Parser:
        """A command running ``handler`` (a key of _commands.HANDLERS), with positionals
        ``args``.
        """
        sub = where.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[self.common],
            epilog=EXIT_CODES_HELP,
            formatter_class=self.formatter,
        )
        sub.set_defaults(handler=handler)
        for positional in args:
            sub.add_argument(positional)
        return sub


def _limit(sub: _Parser, what: str) -> None:
    sub.add_argument("--limit", type=_count, metavar="N", help=f"show at most N {what}")


def _auth_commands(tree: _Tree) -> None:
    auth = tree.group("auth", "store an API key, show who it belongs to")
    login = tree.command(
        auth,
        "login",
        "auth.login",
        "store an API key in the apiconfig profile (file mode 0600); read from stdin when "
        "piped, else asked for without echo; checked with the API first",
    )
    login.add_argument(
        "--api-key",
        type=SecretStr,  # masked wherever the parsed arguments are shown
        metavar="KEY",
        help="the key (beware: visible in the process list and shell history; prefer stdin)",
    )
    login.add_argument(
        "--no-verify", action="store_true", help="store the key without checking it first"
    )
    tree.command(auth, "whoami", "auth.whoami", "the user the credentials belong to")


def _resource_commands(tree: _Tree) -> None:
    projects = tree.group("projects", "HTC projects")
    _limit(tree.command(projects, "list", "projects.list", "every project you can see"), "projects")
    tree.command(projects, "get", "projects.get", "one project", "project")

    tasks = tree.group("tasks", "tasks: the groups of jobs in a project")
    _limit(tree.command(tasks, "list", "tasks.list", "a project's tasks", "project"), "tasks")
    sub = tree.command(tasks, "create", "tasks.create", "create a task", "project", "name")
    sub.add_argument("--description", default="", help="what the task is for")
    tree.command(tasks, "delete", "tasks.delete", "delete a task", "project", "task")
    sub = tree.command(
        tasks,
        "stats",
        "tasks.stats",
        "how many of a task's jobs are in each status",
        "project",
        "task",
    )
    sub.add_argument("--by-group", action="store_true", help="also the counts of each group")
    sub = tree.command(
        tasks,
        "report",
        "tasks.report",
        "a task's report: jobs per status and failure code, durations, vCPU-hours, failed jobs",
        "project",
        "task",
    )
    sub.add_argument("--group", metavar="G", help="only the jobs of group G")

    images = tree.group("images", "the project's container registry")
    tree.command(images, "list", "images.list", "the registry's images", "project")
    sub = tree.command(
        images, "status", "images.status", "whether jobs can use an image yet", "project"
    )
    sub.add_argument("image", help="[path/]name[:tag]")
    tree.command(
        images,
        "create-repo",
        "images.create-repo",
        "create a repository to push images to",
        "project",
        "name",
    )
    sub = tree.command(
        images,
        "push",
        "images.push",
        "push an image into the project's registry without docker: an OCI image layout "
        "(directory or tar) or a docker save archive; waits until jobs can use it",
        "project",
        "source",
    )
    sub.add_argument(
        "--repository", required=True, metavar="NAME", help="the repository (created if new)"
    )
    sub.add_argument(
        "--tag", metavar="T", help="the tag (default: 12 hex digits of the manifest's digest)"
    )
    sub.add_argument(
        "--no-wait", action="store_true", help="return once pushed, before the image is READY"
    )


def _job_commands(tree: _Tree) -> None:
    jobs = tree.group("jobs", "submit, list, follow and cancel jobs")
    sub = tree.command(
        jobs,
        "submit",
        "jobs.submit",
        "submit jobs from a JSON or YAML file: an array of submit requests (API form), or a "
        "JobSpec (image, commands, vcpus, ...) run --count times",
        "project",
        "task",
    )
    sub.add_argument("file", metavar="FILE", help="the file, or - for stdin")
    sub.add_argument(
        "--count", type=_positive_int, metavar="N", help="copies of a JobSpec to run (default 1)"
    )
    sub.add_argument("--group", metavar="G", help="the job group to submit to")

    sub = tree.command(jobs, "list", "jobs.list", "a task's jobs", "project", "task")
    sub.add_argument("--status", type=_job_status, metavar="S", help="only jobs in status S")
    sub.add_argument("--group", metavar="G", help="only jobs of group G")
    _limit(sub, "jobs")

    tree.command(jobs, "get", "jobs.get", "one job", "project", "task", "job")
    tree.command(jobs, "events", "jobs.events", "a job's status changes", "project", "task", "job")

    sub = tree.command(jobs, "logs", "jobs.logs", "a job's log", "project", "task", "job")
    sub.add_argument(
        "--follow", "-f", action="store_true", help="keep printing new lines until the job ends"
    )
    sub.add_argument("--tail", type=_count, metavar="N", help="only the last N lines")
    sub.add_argument("--timestamps", "-t", action="store_true", help="prefix each line's time")
    sub.add_argument(
        "--poll-interval",
        type=_seconds,
        default=2.0,
        metavar="S",
        help="with -f: seconds between reads (default 2)",
    )

    sub = tree.command(
        jobs,
        "cancel",
        "jobs.cancel",
        "cancel every unfinished job of a task (or of one group) and wait until each has ended",
        "project",
        "task",
    )
    sub.add_argument("--group", metavar="G", help="only the jobs of group G")
    sub.add_argument(
        "--no-wait", action="store_true", help="only ask to cancel; do not wait for the jobs"
    )
    sub.add_argument(
        "--timeout",
        type=_seconds,
        default=300.0,
        metavar="S",
        help="give up waiting after S seconds, naming the jobs not ended (default 300)",
    )
    sub.add_argument(
        "--interval", type=_seconds, default=2.0, metavar="S", help="seconds between polls"
    )


def _storage_commands(tree: _Tree) -> None:
    """``storage upload|download|ls|rm PROJECT [TASK] ...`` (no TASK: the project's shared
    storage; the operands are counted to tell).
    """
    storage = tree.group("storage", "files of a task's storage, or of a project's shared storage")
    commands = (
        ("upload", "SOURCE", "upload a file or a directory tree (each file verified)"),
        (
            "download",
            "KEY DEST",
            "download an object, or every object under a folder KEY (resumes an interrupted "
            "download; files already complete are kept)",
        ),
        ("ls", "", "list the objects"),
        ("rm", "KEY", "delete an object, or every object under a folder KEY"),
    )
    for name, rest, help_text in commands:
        sub = tree.command(storage, name, f"storage.{name}", help_text)
        sub.usage = f"{PROG} storage {name} [options] PROJECT [TASK] {rest}".rstrip()
        sub.add_argument(
            "operands",
            nargs="+",
            metavar="PROJECT [TASK]" + (f" {rest}" if rest else ""),
            help="a TASK names the task's storage; without it, the project's shared storage",
        )
        sub.add_argument(
            "--region", metavar="R", help="the region's store (default: the project's default)"
        )
        if name in ("upload", "download"):
            sub.add_argument(
                "--concurrency",
                type=_positive_int,
                default=16,
                metavar="N",
                help="files and parts moved at once (default 16)",
            )
    upload = storage.choices["upload"]
    upload.add_argument(
        "--dest", metavar="KEY", help="the key (a folder when it ends in /; default: the name)"
    )
    storage.choices["ls"].add_argument(
        "--prefix", default="", metavar="P", help="only keys starting with P"
    )


def _other_commands(tree: _Tree) -> None:
    sub = tree.groups.add_parser(
        "watch",
        help="live job counts by status per task, until every job has finished",
        description="Live job counts by status per task, until every job has finished "
        "(exit code 0 when all succeeded, 5 when some failed).",
        parents=[tree.common],
        epilog=EXIT_CODES_HELP,
        formatter_class=tree.formatter,
    )
    sub.set_defaults(handler="watch")
    sub.add_argument("project")
    sub.add_argument("tasks", nargs="+", metavar="TASK")
    sub.add_argument(
        "--interval", type=_seconds, default=2.0, metavar="S", help="seconds between polls"
    )

    emulator = tree.group("emulator", "a local emulator of the HTC API")
    emulator.add_parser(
        "serve",
        add_help=False,  # --help and every option go to the emulator's own parser
        help="serve the emulator over HTTP (its options: rescale-async emulator serve --help)",
    )
    tree.groups.add_parser("demo", help="run a batch of real jobs on the embedded emulator")


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; each command's ``handler`` names its function in _commands."""
    from .. import __version__  # noqa: PLC0415  (the package is imported by now anyway)

    parser = _Parser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=_Tree.formatter
    )
    _global_options(parser, suppress=False)
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    tree = _Tree(parser.add_subparsers(dest="group", required=True, metavar="COMMAND"))
    _auth_commands(tree)
    _resource_commands(tree)
    _job_commands(tree)
    add_platform_commands(tree.groups, epilog=EXIT_CODES_HELP, formatter_class=tree.formatter)
    _storage_commands(tree)
    _other_commands(tree)
    return parser


def _parse(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    """The parsed arguments, and the ones left for ``emulator serve``; SystemExit on a usage
    error (one line on stderr) or after --help.
    """
    parser = build_parser()
    args, rest = parser.parse_known_args(None if argv is None else list(argv))
    if rest and args.group != "emulator":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args, rest


def _report(error: CLIError) -> int:
    sys.stderr.write(f"{PROG}: error: {one_line(error.message)}\n")
    return error.code


def _emulator_main(rest: list[str]) -> int:
    try:
        from ..emulator.__main__ import main as emulator_main  # noqa: PLC0415  (extra)
    except ImportError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return emulator_main(rest)
    except SystemExit as exc:  # its --help, or a usage error its parser reported
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


async def run(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    terminal: bool | None = None,
) -> int:
    """Run one command in the current event loop (asyncio or trio) and return its exit code.

    Output goes to ``sys.stdout``/``sys.stderr``; ``stdin`` replaces ``sys.stdin`` (for
    ``auth login`` and ``jobs submit -``); ``terminal`` forces (or denies) terminal output.
    ``emulator serve`` owns its event loop, so it runs only from ``main``.
    """
    try:
        args, _ = _parse(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.group == "emulator":
        return _report(CLIError("'emulator serve' runs only as the main program: use main()"))
    if args.group == "demo":
        try:
            from .demo import run as run_demo  # noqa: PLC0415  (needs the emulator extra)
        except ImportError as exc:
            print(f"{PROG}: {exc}", file=sys.stderr)
            return EXIT_USAGE
        return await run_demo(out=sys.stdout)
    try:
        if args.group == "platform":
            from .platform._execute import execute  # noqa: PLC0415  (needs the cli extra)
        else:
            from ._commands import execute  # noqa: PLC0415  (needs the cli extra)
    except ImportError as exc:
        if (exc.name or "").partition(".")[0] not in ("rich", "yaml"):
            raise
        return _report(extra_missing(exc.name))
    return await execute(args, stdin=stdin, terminal=terminal)


async def _run_until_interrupted(argv: Sequence[str] | None) -> int:
    """``run``, cancelled as a whole on Ctrl-C (then KeyboardInterrupt). An anyio cancellation
    stays in force until the command has unwound, where the event loop's own one-shot cancel
    of the main task can be absorbed by a shielded cleanup (httpcore closing a connection).
    """
    interrupted = False
    code = EXIT_INTERRUPTED
    error: Exception | None = None
    async with anyio.create_task_group() as group:

        async def cancel_on_sigint() -> None:
            nonlocal interrupted
            with anyio.open_signal_receiver(signal.SIGINT) as signals:
                async for _ in signals:
                    interrupted = True
                    group.cancel_scope.cancel()

        group.start_soon(cancel_on_sigint)
        try:
            code = await run(argv)
        except Exception as exc:  # raised below as itself, not in an exception group
            error = exc
        group.cancel_scope.cancel()
    if interrupted:
        raise KeyboardInterrupt
    if error is not None:
        raise error
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """The ``rescale-async`` console script and ``python -m rescale_async``."""
    try:
        args, rest = _parse(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.group == "emulator":
        return _emulator_main(rest)
    try:
        return anyio.run(partial(_run_until_interrupted, argv))
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as a shell would
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
