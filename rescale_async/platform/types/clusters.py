"""What commands and copies on a quasi-persistent cluster give back."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Result", "Transfer"]


class Result(BaseModel):
    """A command that ran on a node: its exit status (None when it was killed by a signal),
    and everything it wrote to stdout and stderr.
    """

    model_config = ConfigDict(frozen=True)

    command: str
    exit_status: int | None
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        """Whether the command exited with status 0."""
        return self.exit_status == 0

    def stderr_tail(self, lines: int = 10) -> str:
        """The last ``lines`` lines of stderr (for error messages)."""
        return "\n".join(self.stderr.rstrip("\n").splitlines()[-lines:])


class Transfer(BaseModel):
    """A copy to or from a node: the files copied (their paths at the destination), their
    total size, and how they were verified: ``"sha256"`` (hashed on both sides) or ``"size"``
    (the node has no ``sha256sum``: sizes compared).
    """

    model_config = ConfigDict(frozen=True)

    source: str
    destination: str
    files: tuple[str, ...]
    bytes: int
    verified: Literal["sha256", "size"]
