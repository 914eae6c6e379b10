"""Helpers for the cluster tests: a key pair, an emulator whose profile holds its public key,
and quick settings.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypedDict

import asyncssh

from rescale_async.emulator import Emulator, PlatformConfig
from rescale_async.platform import PlatformClient


class Quick(TypedDict):
    interval: float
    ready_timeout: float


QUICK: Quick = {"interval": 0.02, "ready_timeout": 30.0}
"""Polling settings that keep cluster tests quick."""


def key_pair(directory: Path, name: str = "id_ed25519") -> tuple[Path, str]:
    """A new private key file (0600) and its OpenSSH public key line."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    path = directory / name
    path.write_bytes(key.export_private_key())
    os.chmod(path, 0o600)
    return path, key.export_public_key().decode().strip()


@asynccontextmanager
async def emulated(
    public_key: str, **settings: Any
) -> AsyncIterator[tuple[Emulator, PlatformClient]]:
    """A running emulator (quick statuses) whose profile holds ``public_key``, and a client."""
    config = PlatformConfig(status_delay=0.01, ssh_public_key=public_key, **settings)
    async with (
        Emulator(platform=config, seed=5, kill_grace=0.5) as emu,
        emu.platform_client(rate_limits=None) as client,
    ):
        yield emu, client
