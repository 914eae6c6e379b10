"""The ``platform`` command group's parsers (standard library only: imported by ``_app``).

Every command takes the platform's connection options (``--profile``, ``--base-url``,
``--region``) and how to show results (``--output``/``--json``, ``--quiet``), before or after
its name; its ``platform_handler`` names its function in ``_execute.HANDLERS`` (the HTC
commands' ``handler`` names one in ``_commands.HANDLERS``).
"""

from __future__ import annotations

import argparse
from typing import Any, TypeAlias

__all__ = ["add_platform_commands"]

_Commands: TypeAlias = "argparse._SubParsersAction[Any]"

DESCRIPTION = """\
The Rescale platform API v2: software tiles (analyses) on clusters of a chosen coretype, with
input and output files. Credentials as PlatformClient() resolves them: RESCALE_API_KEY, else
the apikey of the profile (--profile) of ~/.config/rescale/apiconfig; the API root: --base-url
or --region, else RESCALE_API_URL, else the profile's apibaseurl, else
https://platform.rescale.com/api/v2."""

RUN_HELP = """\
The job definition file (YAML; paths in it are relative to its directory):

  name: pi estimate                  # required
  analysis: {code: user_included, version: "0"}   # version: a name or a versionCode
  command: python pi.py terms.txt    # required
  coretype: emerald                  # required: see 'platform coretypes'
  cores: 2                           # cores per slot, one the coretype offers
  walltime: 1                        # hours (optional)
  inputs: [pi.py, terms.txt]         # files to upload (optional)
  outputs: results                   # where 'run' downloads the outputs (optional)

optional too: description, project (a project id), low_priority, slots, env (a mapping),
decompress (false: do not extract zip inputs), search (only outputs whose name matches)."""


def _number(kind: type[int] | type[float], least: float, what: str) -> Any:
    """An argparse ``type``: a number of ``kind`` at least ``least`` (finite)."""

    def convert(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not least <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return convert


_seconds = _number(float, 0.001, "a number of seconds > 0")
_whole = _number(int, 1, "a whole number >= 1")
_limit = _number(int, 0, "a whole number >= 0")


def _job_status(text: str) -> str:
    """A job status by its display name or its filter name (``Executing``, ``EXECUTING``,
    ``waiting_for_cluster``): its display name.
    """
    from ...platform.types import JobStatus  # noqa: PLC0415  (only when the option is used)

    wanted = text.strip().casefold().replace(" ", "_")
    for status in JobStatus:
        if wanted == status.value.casefold().replace(" ", "_"):
            return str(status.value)
    known = ", ".join(status.value for status in JobStatus)
    raise argparse.ArgumentTypeError(f"unknown job status {text!r}; one of {known}")


def _connection_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The options every platform command takes, on the ``platform`` group (``defaults``:
    with their defaults) and on each command (only what is given there, so an option given
    before the command's name holds unless given again after it).
    """

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=argparse.SUPPRESS,  # the top level's default
        help="the apiconfig profile (default: $RESCALE_PROFILE, else 'default')",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="the platform API root, e.g. http://127.0.0.1:8700/api/v2 for a local emulator",
    )
    parser.add_argument(
        "--region",
        metavar="NAME",
        default=default(None),
        help="the platform's regional host by name: us, eu, kr, jp, itar, itar-gov",
    )
    parser.add_argument(
        "--output",
        "-o",
        choices=["table", "json"],
        default=argparse.SUPPRESS,
        help="tables for people (default) or JSON for programs",
    )
    parser.add_argument(
        "--json",
        dest="output",
        action="store_const",
        const="json",
        default=argparse.SUPPRESS,
        help="JSON for programs (as --output json)",
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        default=default(False),
        help="no progress bars or progress lines on stderr",
    )


class _Group:
    """Adds the commands of one group, each with the connection options and exit codes."""

    def __init__(
        self,
        where: _Commands,
        common: argparse.ArgumentParser,
        epilog: str,
        formatter_class: type[argparse.HelpFormatter],
    ) -> None:
        self.where = where
        self.common = common
        self.epilog = epilog
        self.formatter_class = formatter_class

    def group(self, name: str, help_text: str) -> _Group:
        sub = self.where.add_parser(name, help=help_text, description=help_text)
        commands = sub.add_subparsers(dest="action", required=True, metavar="COMMAND")
        return _Group(commands, self.common, self.epilog, self.formatter_class)

    def command(
        self, name: str, handler: str, help_text: str, *positionals: str, details: str = ""
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = self.where.add_parser(
            name,
            help=help_text,
            description=f"{help_text}\n\n{details}" if details else help_text,
            parents=[self.common],
            epilog=self.epilog,
            formatter_class=self.formatter_class,
        )
        sub.set_defaults(platform_handler=f"platform.{handler}")
        for positional in positionals:
            sub.add_argument(positional)
        return sub


def _waiting(sub: argparse.ArgumentParser, *, interval: float = 10.0) -> None:
    sub.add_argument(
        "--timeout", type=_seconds, metavar="S", help="give up waiting after S seconds"
    )
    sub.add_argument(
        "--interval",
        type=_seconds,
        default=interval,
        metavar="S",
        help=f"seconds between polls of the job's statuses (default {interval:g})",
    )


def _connections(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--connections",
        type=_whole,
        default=10,
        metavar="N",
        help="concurrent range requests (default 10)",
    )


def _listing(sub: argparse.ArgumentParser, what: str, *, search: str = "") -> None:
    if search:
        sub.add_argument("--search", metavar="TEXT", help=search)
    sub.add_argument("--limit", type=_limit, metavar="N", help=f"show at most N {what}")


def _catalogue_commands(platform: _Group) -> None:
    sub = platform.command(
        "coretypes", "coretypes", "the hardware: coretypes, their core counts, memory and price"
    )
    sub.add_argument("--category", metavar="CODE", help="only coretypes of a category (general)")
    sub.add_argument("--all", action="store_true", help="inactive coretypes too")
    sub = platform.command("analyses", "analyses", "the software: analyses and their versions")
    sub.add_argument("--search", metavar="TEXT", help="only analyses whose code or name holds TEXT")


def _job_commands(platform: _Group) -> None:
    jobs = platform.group("jobs", "platform jobs: list, follow, stop, delete and their files")
    sub = jobs.command("list", "jobs.list", "your jobs, newest first")
    sub.add_argument("--state", choices=["completed", "not_completed"], help="only these")
    sub.add_argument("--status", type=_job_status, metavar="S", help="only jobs in status S")
    _listing(sub, "jobs")
    jobs.command("get", "jobs.get", "one job: its definition and status", "job")
    sub = jobs.command(
        "submit",
        "jobs.submit",
        "upload a job definition's inputs, create the job and submit it (without waiting)",
        "file",
        details=RUN_HELP,
    )
    sub = jobs.command(
        "wait",
        "jobs.wait",
        "wait until a job has completed (exit code 5 when it failed) or reached --until",
        "job",
    )
    sub.add_argument(
        "--until", type=_job_status, metavar="S", help="a status to wait for, e.g. Executing"
    )
    _waiting(sub)
    jobs.command("stop", "jobs.stop", "stop a job gracefully (SIGTERM, its files kept)", "job")
    sub = jobs.command(
        "delete",
        "jobs.delete",
        "delete a job (the service refuses while its cluster runs)",
        "job",
    )
    sub.add_argument(
        "--wait-for-cluster",
        action="store_true",
        help="first wait until the job's cluster has stopped",
    )
    sub.add_argument("--delete-input-files", action="store_true", help="delete its input files too")
    _waiting(sub)
    sub = jobs.command("files", "jobs.files", "a job's output files", "job")
    _listing(sub, "files", search="only files whose name holds TEXT")
    sub = jobs.command(
        "download",
        "jobs.download",
        "download a job's outputs, verified, keeping their relative paths",
        "job",
    )
    sub.add_argument(
        "directory", nargs="?", help="where to (default: a directory named after the job id)"
    )
    sub.add_argument("--search", metavar="TEXT", help="only outputs whose name holds TEXT")
    _connections(sub)


def _file_commands(platform: _Group) -> None:
    files = platform.group("files", "your files: upload, download, list, remove")
    sub = files.command("upload", "files.upload", "upload files as job inputs")
    sub.add_argument("paths", nargs="+", metavar="PATH")
    sub = files.command(
        "download",
        "files.download",
        "download a file, in concurrent ranges, verified by its SHA-512",
        "file",
    )
    sub.add_argument("dest", nargs="?", help="a path or a directory (default: here)")
    _connections(sub)
    sub = files.command("ls", "files.ls", "your files")
    _listing(sub, "files", search="only files whose name holds TEXT")
    sub = files.command("rm", "files.rm", "delete files")
    sub.add_argument("files", nargs="+", metavar="FILE")


def _run_command(platform: _Group) -> None:
    sub = platform.command(
        "run",
        "run",
        "run a job from its YAML definition: upload the inputs, create and submit the job, "
        "wait for it, download its outputs (exit code 5 when it failed)",
        "file",
        details=RUN_HELP,
    )
    sub.add_argument(
        "--outputs",
        metavar="DIR",
        help="where to download the outputs (wins over the file's outputs:; default: a "
        "directory named after the job id)",
    )
    sub.add_argument("--no-download", action="store_true", help="do not download the outputs")
    sub.add_argument(
        "--ledger",
        metavar="PATH",
        help="a SQLite file recording each step: run again after a crash or Ctrl-C and it goes "
        "on where it stopped (no second upload, job or submission)",
    )
    _waiting(sub)
    _connections(sub)


CLUSTER_HELP = """\
A CLI process cannot hold a cluster open between commands: 'start' leaves the job running
(until 'stop', or its walltime) and 'run', 'put' and 'get' log in to it again each time.
Host keys: a fresh cluster's key cannot be known before it boots, so 'start
--trust-on-first-use' accepts the key its head node offers and records it in the known_hosts
file (default ~/.config/rescale/known_hosts), against which later commands check it."""


def _cluster_login(sub: argparse.ArgumentParser) -> None:
    """How a cluster command logs in: the key, the host-key policy, how long to wait."""
    sub.add_argument(
        "--private-key",
        required=True,
        metavar="PATH",
        help="the OpenSSH private key whose public key is in your Rescale user profile",
    )
    sub.add_argument(
        "--known-hosts",
        metavar="PATH",
        help="the trusted host keys (default ~/.config/rescale/known_hosts)",
    )
    sub.add_argument(
        "--trust-on-first-use",
        action="store_true",
        help="accept the host key a node offers when it is not known, and record it in the "
        "known_hosts file (a fresh cluster's key cannot be known in advance)",
    )
    sub.add_argument(
        "--ready-timeout",
        type=_seconds,
        default=1800.0,
        metavar="S",
        help="give up when the cluster is not answering on SSH after S seconds (default 1800)",
    )
    sub.add_argument(
        "--interval",
        type=_seconds,
        default=10.0,
        metavar="S",
        help="seconds between polls of the job's status (default 10)",
    )


def _cluster_commands(platform: _Group) -> None:
    cluster = platform.group(
        "cluster",
        "quasi-persistent clusters: start one, run commands and copy files on it over SSH, stop it",
    )
    sub = cluster.command(
        "start",
        "cluster.start",
        "start a cluster (a job running 'sleep inf'), wait until it answers on SSH, print its "
        "job id and leave it running",
        details=CLUSTER_HELP,
    )
    sub.add_argument("--coretype", required=True, metavar="CODE", help="see 'platform coretypes'")
    sub.add_argument("--cores", required=True, type=_whole, metavar="N", help="cores per slot")
    sub.add_argument(
        "--walltime", type=_whole, default=1, metavar="H", help="hours at most (default 1)"
    )
    sub.add_argument(
        "--analysis",
        default="user_included",
        metavar="CODE",
        help="the software (default user_included: your own)",
    )
    sub.add_argument("--version", metavar="V", help="the analysis version: a name or a versionCode")
    sub.add_argument("--name", default="rescale-async cluster", help="the job's name")
    _cluster_login(sub)
    sub = cluster.command(
        "run",
        "cluster.run",
        "run a command on the cluster's head node, its output shown as it comes; exits with "
        "the command's exit status",
        "job",
        details="Several words after -- are quoted as given (run JOB -- ls -l 'a b'); "
        "one word is a shell command line (run JOB 'cd model && ./solve').",
    )
    sub.add_argument("command", nargs="+", metavar="COMMAND")
    _cluster_login(sub)
    sub = cluster.command(
        "put", "cluster.put", "copy a local file or tree to the head node, verified", "job"
    )
    sub.add_argument("local", metavar="LOCAL")
    sub.add_argument("remote", metavar="REMOTE", help="relative to the login directory")
    _cluster_login(sub)
    sub = cluster.command(
        "get", "cluster.get", "copy a file or tree of the head node here, verified", "job"
    )
    sub.add_argument("remote", metavar="REMOTE", help="relative to the login directory")
    sub.add_argument("local", metavar="LOCAL")
    _cluster_login(sub)
    sub = cluster.command("stop", "cluster.stop", "stop the cluster's job", "job")
    sub.add_argument("--wait", action="store_true", help="wait until its cluster has stopped")
    _waiting(sub)


def add_platform_commands(
    groups: _Commands, *, epilog: str, formatter_class: type[argparse.HelpFormatter]
) -> None:
    """Add the ``platform`` group to the top-level commands ``groups``."""
    parser = groups.add_parser(
        "platform",
        help="the Rescale platform API v2: coretypes, analyses, jobs, files, run, cluster",
        description=DESCRIPTION,
        formatter_class=formatter_class,
    )
    _connection_options(parser, defaults=True)
    common = argparse.ArgumentParser(add_help=False)
    _connection_options(common, defaults=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    platform = _Group(commands, common, epilog, formatter_class)
    _catalogue_commands(platform)
    _run_command(platform)
    _job_commands(platform)
    _file_commands(platform)
    _cluster_commands(platform)
