"""``auth login`` (store an API key in the apiconfig profile, mode 0600) and ``auth whoami``.

The key is taken from ``--api-key``, else from stdin when it is not a terminal, else from a
prompt that does not echo. It is checked with ``GET /auth/whoami`` before being stored (unless
``--no-verify``), and never printed.
"""

from __future__ import annotations

import configparser
import getpass
import os
import re
import secrets
from functools import partial
from pathlib import Path

import anyio
import anyio.to_thread
from pydantic import SecretStr

from .._core.config import ENV_PROFILE, apiconfig_path, resolve_settings
from .._core.exceptions import AuthenticationError, ConfigurationError
from ..htc.client import HTCClient
from ._context import Context
from ._errors import EXIT_AUTH, EXIT_OK, CLIError

__all__ = ["login", "store_api_key", "whoami"]

_PROFILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]*")


def _profile_name(ctx: Context) -> str:
    name = ctx.profile or os.environ.get(ENV_PROFILE, "").strip() or "default"
    if not _PROFILE_NAME.fullmatch(name) or name == configparser.DEFAULTSECT:
        raise CLIError(
            f"{name!r} is not a usable profile name: use letters, digits and . _ @ - "
            "(e.g. --profile work)"
        )
    return name


async def _read_key(ctx: Context) -> str:
    given: SecretStr | None = ctx.args.api_key
    key = None if given is None else given.get_secret_value()
    if key is None:
        if ctx.stdin.isatty():
            key = await anyio.to_thread.run_sync(getpass.getpass, "Rescale API key: ")
        else:
            key = await anyio.to_thread.run_sync(ctx.stdin.readline)
    key = key.strip()
    if not key:
        raise CLIError(
            "no API key given: pipe it on stdin (rescale-async auth login < key.txt), "
            "type it at the prompt, or pass --api-key KEY"
        )
    if any(ch.isspace() for ch in key) or not key.isprintable():
        raise CLIError(
            "the API key contains whitespace or control characters; copy it again without "
            "spaces or line breaks"
        )
    return key


def store_api_key(path: Path, profile: str, api_key: str, base_url: str | None = None) -> None:
    """Set ``apikey`` (and ``htcbaseurl``) of ``[profile]`` in the INI file at ``path``, keeping
    its other profiles and keys. The file is replaced atomically by one created with mode 0600
    (never readable by others, not even for a moment); its directory is made 0700 if new.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ConfigurationError(
            f"cannot read {path}: {type(exc).__name__}; fix or remove the file"
        ) from None
    if not parser.has_section(profile):
        parser.add_section(profile)
    parser.set(profile, "apikey", api_key)
    if base_url is not None:
        parser.set(profile, "htcbaseurl", base_url)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            parser.write(handle)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


async def login(ctx: Context) -> int:
    out = ctx.output
    profile = _profile_name(ctx)
    key = await _read_key(ctx)
    path = apiconfig_path()
    user = None
    if not ctx.args.no_verify:
        client = HTCClient(api_key=key, base_url=ctx.base_url, profile=profile)
        try:
            async with client:
                who = await client.auth.user()
        except AuthenticationError:
            raise CLIError(
                f"the API key was refused by {client.base_url}; nothing was stored (check the "
                "key, and --base-url if it is not the default service)",
                EXIT_AUTH,
            ) from None
        user = who.user
    await anyio.to_thread.run_sync(store_api_key, path, profile, key, ctx.base_url)
    identity = (user.email or user.user_id) if user is not None else None
    if out.json:
        out.emit_json(
            {"profile": profile, "path": str(path), "verified": user is not None, "user": user}
        )
    else:
        who_text = f" for {identity}" if identity else ""
        out.line(f"stored the API key{who_text} in profile [{profile}] of {path} (mode 0600)")
    return EXIT_OK


async def whoami(ctx: Context) -> int:
    out = ctx.output
    resolve = partial(resolve_settings, base_url=ctx.base_url, profile=ctx.profile)
    settings = await anyio.to_thread.run_sync(resolve)  # it may read the profile file
    async with ctx.client() as client:
        who = await client.auth.user()
    source = settings.credentials.source
    if out.json:
        out.emit_json(
            {**who.model_dump(mode="json"), "credentials": source, "baseUrl": client.base_url}
        )
        return EXIT_OK
    user = who.user
    workspace = user.workspace if user is not None else None
    organization = user.organization if user is not None else None
    out.details(
        {
            "user": user.email if user else None,
            "name": user.full_name if user else None,
            "user id": user.user_id if user else None,
            "organization": organization.code if organization else None,
            "workspace": (
                f"{workspace.name} ({workspace.id})" if workspace and workspace.id else None
            ),
            "credentials": source,
            "api": client.base_url,
        }
    )
    return EXIT_OK
