"""The platform's failures as one line and an exit code, on the HTC commands' conventions
(``cli._errors``), with hints that name the platform's commands and settings.
"""

from __future__ import annotations

from ..._core.exceptions import APIConnectionError, NoMatchError, NotFoundError, RescaleError
from .._errors import EXIT_API, EXIT_NOT_FOUND, EXIT_USAGE, describe, one_line

__all__ = ["describe_platform"]


def describe_platform(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and message for an error the user can act on; None for a bug."""
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND, (
            f"not found ({one_line(str(exc))}); check the ids with "
            "'platform jobs list', 'platform jobs files JOB' or 'platform files ls'"
        )
    if isinstance(exc, NoMatchError):
        return EXIT_NOT_FOUND, one_line(str(exc))
    if isinstance(exc, APIConnectionError):
        return EXIT_API, (
            f"cannot reach the API ({one_line(str(exc))}); check --base-url, --region or "
            "RESCALE_API_URL and the network"
        )
    if isinstance(exc, OSError) and not isinstance(exc, RescaleError):  # a local file
        if exc.filename is not None and exc.strerror:
            return EXIT_USAGE, f"{exc.filename}: {exc.strerror}"
        return EXIT_USAGE, one_line(str(exc))
    return describe(exc)
