"""One running job's "cluster" over SSH: an asyncssh server on 127.0.0.1 (asyncio code; the
emulator reaches it through its bridge).

It accepts public-key logins (any user name: every instance logs in as the host user) with
the key registered in the emulated user profile (read at each login, so a test can change
it), runs each command as ``bash -c <command>`` (argv, no shell of ours, its own process
group) in the job's working directory with the job's environment, and serves SFTP rooted at
that directory. Closing it
closes every connection and kills the commands still running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import asyncssh

__all__ = ["JobServer", "open_job_server"]

logger = logging.getLogger("rescale_async.emulator")

_CHUNK = 64 * 1024

PublicKeySource = Callable[[], str | None]
"""The OpenSSH public key line registered in the user profile now (None: none is)."""


class _Login(asyncssh.SSHServer):
    """Public-key authentication against the profile's key; every connection kept so that
    closing the job's server can close it.
    """

    def __init__(self, owner: JobServer) -> None:
        self._owner = owner

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._owner.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner.forget_closed()

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        registered = self._owner.registered_key()
        return registered is not None and key == registered


class JobServer:
    """The SSH server of one job; ``port`` is where it listens."""

    def __init__(
        self,
        *,
        work: Path,
        environment: Mapping[str, str],
        public_key: PublicKeySource,
    ) -> None:
        self.work = work
        self.environment = dict(environment)
        self._public_key = public_key
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._processes: set[asyncio.subprocess.Process] = set()
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self.port = 0

    def registered_key(self) -> asyncssh.SSHKey | None:
        line = self._public_key()
        if not line:
            return None
        try:
            return asyncssh.import_public_key(line)
        except (asyncssh.KeyImportError, ValueError):
            logger.warning("the public key registered in the emulated profile is not readable")
            return None

    def forget_closed(self) -> None:
        self.connections = {c for c in self.connections if not c.is_closed()}

    async def start(self) -> int:
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        self._acceptor = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_factory=lambda: _Login(self),
            server_host_keys=[host_key],
            process_factory=self._handle,
            sftp_factory=self._sftp,
            encoding=None,
            allow_scp=False,
            agent_forwarding=False,
            x11_forwarding=False,
            config=[],
        )
        self.port = self._acceptor.get_port()
        return self.port

    def _sftp(self, chan: asyncssh.SSHServerChannel[bytes]) -> asyncssh.SFTPServer:
        return asyncssh.SFTPServer(chan, chroot=os.fsencode(self.work))

    async def _handle(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        """Run one command (``exec`` request) to its end, its output streamed back."""
        command = process.command
        bash = shutil.which("bash")
        if command is None or bash is None:
            why = "no interactive shell here: run a command" if bash else "bash is not installed"
            process.stderr.write(f"emulator: {why}\n".encode())
            process.exit(1)
            return
        child = await asyncio.create_subprocess_exec(
            bash,
            "-c",
            command,
            cwd=self.work,
            env=self.environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._processes.add(child)
        try:
            assert child.stdout is not None
            assert child.stderr is not None
            # both pumps awaited together (cancelled together): the output as it comes
            await asyncio.gather(
                _pump(child.stdout, process.stdout), _pump(child.stderr, process.stderr)
            )
            code = await child.wait()
        except BaseException:
            _kill(child)
            await _reap(child)  # a cancellation is one-shot in asyncio: this wait runs
            raise
        finally:
            self._processes.discard(child)
        process.exit(code if code >= 0 else 128 - code)

    async def close(self) -> None:
        """Stop listening, kill the commands still running, close every connection."""
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()
            self._acceptor = None
        for child in list(self._processes):
            _kill(child)
            await _reap(child)
        for conn in list(self.connections):
            conn.close()
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.wait_closed(), 5)
        self.connections.clear()


async def _pump(source: asyncio.StreamReader, sink: asyncssh.SSHWriter[bytes]) -> None:
    """Copy a command's output to the channel as it comes."""
    while chunk := await source.read(_CHUNK):
        try:
            sink.write(chunk)
            await sink.drain()
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            return  # the client went away; the command is ended by the handler


def _kill(child: asyncio.subprocess.Process) -> None:
    if child.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)


async def _reap(child: asyncio.subprocess.Process) -> None:
    """Wait (a few seconds at most) for a killed command to be gone."""
    with contextlib.suppress(asyncio.TimeoutError, ProcessLookupError):
        await asyncio.wait_for(child.wait(), 5)


async def open_job_server(
    *, work: Path, environment: Mapping[str, str], public_key: PublicKeySource
) -> JobServer:
    """A started JobServer for a job whose working directory is ``work``."""
    server = JobServer(work=work, environment=environment, public_key=public_key)
    await server.start()
    return server
