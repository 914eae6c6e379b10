"""What every platform command gets: its arguments, the output, the progress, a client maker."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeAlias

from ...platform.client import PlatformClient
from .._errors import CLIError
from .._output import Output
from ._progress import Reporter

__all__ = ["PlatformContext", "PlatformHandler"]


@dataclass
class PlatformContext:
    """A platform command's arguments and surroundings."""

    args: argparse.Namespace = field(repr=False)
    output: Output
    progress: Reporter

    def client(self) -> PlatformClient:
        """A client with the connection options; credentials as ``PlatformClient()`` resolves
        them (``RESCALE_API_KEY``, ``RESCALE_API_URL``, the profile).
        """
        args = self.args
        if args.region is not None and args.base_url is not None:
            raise CLIError(f"give --region or --base-url, not both (--region {args.region})")
        return PlatformClient(base_url=args.base_url, region=args.region, profile=args.profile)


PlatformHandler: TypeAlias = Callable[[PlatformContext], Awaitable[int]]
"""A platform command: does its work, renders its result, returns the exit code."""
