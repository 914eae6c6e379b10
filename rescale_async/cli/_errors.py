"""Exit codes, and the one line a failure becomes (never a traceback, never a secret)."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from .._core.exceptions import (
    APIConnectionError,
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    RescaleError,
)

__all__ = [
    "EXIT_API",
    "EXIT_AUTH",
    "EXIT_BROKEN_PIPE",
    "EXIT_CODES_HELP",
    "EXIT_INTERRUPTED",
    "EXIT_JOBS_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_USAGE",
    "CLIError",
    "describe",
    "extra_missing",
    "one_line",
    "report_error",
    "validation_summary",
]

EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_JOBS_FAILED = 5
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

EXIT_CODES_HELP = f"""\
exit codes:
  {EXIT_OK:<4} success
  {EXIT_API:<4} API error: the service refused or failed the request, or was unreachable
  {EXIT_USAGE:<4} usage or input error: bad arguments, an unreadable or invalid file,
       a missing optional extra
  {EXIT_AUTH:<4} authentication or configuration error: no credentials, API key refused,
       unreadable profile file
  {EXIT_NOT_FOUND:<4} not found: no such project, task, job, image or file
  {EXIT_JOBS_FAILED:<4} the jobs waited for finished, and some failed (watch, platform run,
       platform jobs wait)
  {EXIT_INTERRUPTED:<4} interrupted (Ctrl-C)
  {EXIT_BROKEN_PIPE:<4} the output pipe was closed (e.g. by head)
"""

_LOGIN_HINT = (
    "set RESCALE_API_KEY, pick a profile with --profile, or run 'rescale-async auth login'"
)


class CLIError(Exception):
    """A failure the command line reports as one line and an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def report_error(code: int, message: str) -> int:
    """Write ``message`` as the command's one error line on stderr (after what it printed on
    stdout); ``code``, the exit code.
    """
    sys.stdout.flush()
    sys.stderr.write(f"rescale-async: error: {message}\n")
    sys.stderr.flush()
    return code


def one_line(text: str) -> str:
    """``text`` with its whitespace runs (line breaks included) folded to single spaces."""
    return " ".join(text.split())


def extra_missing(module: str | None) -> CLIError:
    """The error for a command that needs the ``cli`` extra when ``module`` is not installed."""
    return CLIError(
        f"this command needs the 'cli' extra ({module or 'a dependency'} is missing): "
        "pip install 'rescale-async[cli]'"
    )


def validation_summary(exc: ValidationError) -> str:
    """The first problem of a pydantic error in one line (where, what), and how many more."""
    errors = exc.errors(include_url=False, include_input=False)
    if not errors:  # pragma: no cover  (pydantic always lists at least one)
        return one_line(str(exc))
    first = errors[0]
    where = "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
    ).lstrip(".")
    message = one_line(first["msg"].removeprefix("Value error, "))
    text = f"{where}: {message}" if where else message
    if len(errors) > 1:
        text += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return text


def describe(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and message for an error the user can act on; None for a bug."""
    if isinstance(exc, CLIError):
        return exc.code, one_line(exc.message)
    if isinstance(exc, ConfigurationError):
        return EXIT_AUTH, one_line(str(exc))
    if isinstance(exc, AuthenticationError):
        return EXIT_AUTH, f"authentication failed ({one_line(str(exc))}); {_LOGIN_HINT}"
    if isinstance(exc, PermissionDeniedError):
        return EXIT_AUTH, f"permission denied ({one_line(str(exc))})"
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND, (
            f"not found ({one_line(str(exc))}); check the ids with "
            "'projects list', 'tasks list PROJECT' or 'jobs list PROJECT TASK'"
        )
    if isinstance(exc, APIConnectionError):
        return EXIT_API, (
            f"cannot reach the API ({one_line(str(exc))}); check --base-url or "
            "RESCALE_HTC_API_URL and the network"
        )
    if isinstance(exc, RescaleError):
        return EXIT_API, one_line(str(exc))
    if isinstance(exc, ValidationError):
        return EXIT_USAGE, validation_summary(exc)
    if isinstance(exc, ValueError):  # the SDK's checks of arguments (image names, limits...)
        return EXIT_USAGE, one_line(str(exc))
    return None
