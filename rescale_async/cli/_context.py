"""What every command gets: its parsed arguments, the output, stdin, and a client maker."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TextIO, TypeAlias

from ..htc.client import HTCClient
from ..htc.types import JobRef, TaskRef
from ._output import Output

__all__ = ["Context", "Handler"]


@dataclass
class Context:
    """A command's arguments and surroundings."""

    args: argparse.Namespace = field(repr=False)
    output: Output
    stdin: TextIO

    @property
    def profile(self) -> str | None:
        profile: str | None = self.args.profile
        return profile

    @property
    def base_url(self) -> str | None:
        base_url: str | None = self.args.base_url
        return base_url

    def client(self) -> HTCClient:
        """A client with the global options; credentials as ``HTCClient()`` resolves them."""
        return HTCClient(base_url=self.base_url, profile=self.profile)

    def task_ref(self) -> TaskRef:
        return TaskRef(self.args.project, self.args.task)

    def job_ref(self) -> JobRef:
        return JobRef(self.args.project, self.args.task, self.args.job)


Handler: TypeAlias = Callable[[Context], Awaitable[int]]
"""A command: does its work, renders its result, returns the exit code."""
