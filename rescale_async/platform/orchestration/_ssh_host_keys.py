"""Which host keys a cluster's nodes may present: those of a known_hosts file, and, when asked
(``trust_on_first_use``), the first key each ``host:port`` offers, pinned for the cluster's
lifetime and optionally appended to that file.

A fresh cluster's host key is generated when its nodes boot, so it cannot be in any
known_hosts file beforehand: trusting it on first use is the explicit, opt-in way to connect
to one; refusing unknown hosts is the default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import asyncssh

__all__ = ["HostKeyPolicy", "TrustingClient"]

_NO_MATCH: tuple[list[asyncssh.SSHKey], ...] = ([], [], [], [], [], [], [])


def _pattern(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


class HostKeyPolicy:
    """The trusted host keys of one cluster (see the module docstring)."""

    def __init__(self, *, known_hosts: Path | None, trust_on_first_use: bool) -> None:
        self.known_hosts = known_hosts
        self.trust_on_first_use = trust_on_first_use
        self._known: asyncssh.SSHKnownHosts | None = None
        self._pinned: dict[tuple[str, int], asyncssh.SSHKey] = {}
        self._to_record: list[tuple[str, int, asyncssh.SSHKey]] = []
        self.offered: dict[tuple[str, int], asyncssh.SSHKey] = {}
        """The key each host offered that was refused (for the error)."""

    def __repr__(self) -> str:
        return (
            f"HostKeyPolicy(known_hosts={str(self.known_hosts) if self.known_hosts else None!r}, "
            f"trust_on_first_use={self.trust_on_first_use}, pinned={len(self._pinned)})"
        )

    async def load(self) -> None:
        """Read the known_hosts file (in a thread), when there is one."""
        path = self.known_hosts
        if path is None or self._known is not None:
            return
        if await anyio.Path(path).exists():
            self._known = await anyio.to_thread.run_sync(asyncssh.read_known_hosts, str(path))

    def trusted(self, host: str, port: int) -> tuple[list[Any], ...]:
        """The known_hosts match for ``host:port`` (asyncssh's 7 lists), the pinned key
        added to its trusted keys.
        """
        found: tuple[list[Any], ...] = tuple(
            list(part)
            for part in (self._known.match(host, host, port) if self._known else _NO_MATCH)
        )
        pinned = self._pinned.get((host, port))
        if pinned is not None:
            found[0].append(pinned)
        return found

    def consider(self, host: str, port: int, key: asyncssh.SSHKey) -> bool:
        """A key not among the trusted ones: accepted (and pinned) on first use when allowed,
        nothing is pinned for ``host:port`` yet and the known_hosts file names no other key for
        it (a changed key is refused, as ssh does); else refused and remembered.
        """
        where = (host, port)
        if self.trust_on_first_use and where not in self._pinned and not self.listed(host, port):
            self._pinned[where] = key
            self._to_record.append((host, port, key))
            return True
        self.offered[where] = key
        return False

    def listed(self, host: str, port: int) -> bool:
        """Whether the known_hosts file holds keys (or a CA) for ``host:port``."""
        if self._known is None:
            return False
        keys, cas, *_ = self._known.match(host, host, port)
        return bool(keys or cas)

    def is_pinned(self, host: str, port: int) -> bool:
        return (host, port) in self._pinned

    async def record(self) -> None:
        """Append the keys trusted on first use to the known_hosts file (0600, in a thread)."""
        path = self.known_hosts
        entries, self._to_record = self._to_record, []
        if path is None or not entries:
            return
        lines = "".join(
            f"{_pattern(host, port)} {key.export_public_key().decode().strip()}\n"
            for host, port, key in entries
        )
        await anyio.to_thread.run_sync(_append_private, path, lines)


def _append_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(text)


class TrustingClient(asyncssh.SSHClient):
    """asyncssh's client callbacks: a host key not in the trusted lists goes to the policy."""

    def __init__(self, policy: HostKeyPolicy, host: str, port: int) -> None:
        self._policy = policy
        self._host = host
        self._port = port

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        return self._policy.consider(self._host, self._port, key)
