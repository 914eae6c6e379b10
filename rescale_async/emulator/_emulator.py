"""``Emulator``: state, job runners, both APIs and their fault layers, in one task group."""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import httpx
from starlette.types import ASGIApp

from ._asgi import ApiRoots, FaultLayer, InProcessTransport
from ._config import EmulatorConfig
from ._faults import Counters, Faults
from ._tokens import (
    TokenIssuer,
    new_private_key,
    new_secret,
    private_key_from_pem,
    private_key_to_pem,
    shared_private_key,
)
from .htc._app import API_ROOT, Api
from .htc._records import TERMINAL, JobRecord
from .htc._registry import RegistryView
from .htc._runner import Runner
from .htc._state import State
from .htc._store import Store
from .platform._app import PLATFORM_ROOT, PlatformApi
from .platform._errors import drf_error_body
from .platform._runner import PlatformRunner
from .platform._state import PlatformState
from .storage import StorageControl

if TYPE_CHECKING:
    from ..htc.client import HTCClient
    from ..platform.client import PlatformClient

__all__ = ["Emulator"]

logger = logging.getLogger("rescale_async.emulator")


class Emulator:
    """A local Rescale HTC service: ``async with Emulator(...) as emu: client = emu.client()``,
    and the platform API v2 beside it (``emu.platform_url``, ``emu.platform_http()``).

    Jobs really run (host processes, see ``EmulatorConfig``), in a task group owned by the
    ``async with`` block; leaving it stops every job process. Works under asyncio and trio.
    Keyword arguments override fields of ``config``; ``db_path`` keeps the state in SQLite.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        /,
        *,
        db_path: str | os.PathLike[str] | None = None,
        **overrides: Any,
    ) -> None:
        config = config or EmulatorConfig()
        if db_path is not None:
            overrides["db_path"] = db_path
        if overrides:
            config = dataclasses.replace(config, **overrides)
        self.config = config
        self.base_url = config.base_url
        """The API root clients use (the served address in served mode)."""
        self.platform_url = str(httpx.URL(config.base_url).copy_with(path=PLATFORM_ROOT))
        """The platform API v2 root (``.../api/v2``, on the same host as ``base_url``)."""
        self.faults = Faults(random.Random(config.seed))  # noqa: S311 - not for secrets
        """Fault rules, changeable at any time (see ``FaultRule``)."""
        self.counters = Counters()
        """Requests per endpoint, responses per status, injected faults."""
        self.served = False
        """True while an HTTP server serves this emulator (``base_url`` is its address)."""
        self.refresh_interval = config.refresh_interval
        """Seconds between snapshot refreshes of job statuses; may be changed while running."""
        self._state: State | None = None
        self._runner: Runner | None = None
        self._platform: PlatformState | None = None
        self._platform_runner: PlatformRunner | None = None
        self._app: ASGIApp | None = None
        self._issuer: TokenIssuer | None = None
        self._stack: AsyncExitStack | None = None
        self._task_group: anyio.abc.TaskGroup | None = None

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Emulator:
        if self._stack is not None:
            raise RuntimeError("this Emulator is already running")
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            await self._start(stack)
        except BaseException:
            if self._task_group is not None:
                self._task_group.cancel_scope.cancel()
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def _start(self, stack: AsyncExitStack) -> None:
        config = self.config
        rng = random.Random(config.seed)  # noqa: S311 - not for secrets
        root = await self._jobs_root(stack)
        state = State(config, rng)
        if config.registry_address is not None:
            state.registry = RegistryView(config.registry_address)
            stack.push_async_callback(state.registry.aclose)
        store: Store | None = None
        restored = False
        if config.db_path is not None:
            store = Store(config.db_path)
            snapshot = await anyio.to_thread.run_sync(store.open)
            stack.push_async_callback(_in_thread, store.close)
            state.load(snapshot)
            restored = bool(snapshot.records)
        issuer = await self._issuer_for(state, persistent=store is not None)
        _seed(state, config)
        if config.storage_endpoint is not None and config.storage_secret is not None:
            await StorageControl(config.storage_endpoint, config.storage_secret).create_buckets(
                config.regions
            )

        runner = Runner(state, config, issuer, root)
        api = Api(
            config=config,
            state=state,
            runner=runner,
            issuer=issuer,
            faults=self.faults,
            counters=self.counters,
            rng=rng,
        )
        htc_app = FaultLayer(
            api.app(),
            faults=self.faults,
            counters=self.counters,
            root_path=API_ROOT,
            resolve=api.resolve,
        )
        platform_app = await self._platform_app(state, root)
        self._app = ApiRoots({PLATFORM_ROOT: platform_app}, default=htc_app)
        self._state, self._runner, self._issuer = state, runner, issuer

        if store is not None:
            stack.push_async_callback(self._final_write, store)
        task_group = await stack.enter_async_context(anyio.create_task_group())
        self._task_group = task_group
        await task_group.start(runner.run)
        await task_group.start(self.platform_runner.run)
        if restored:
            runner.enqueue(state.recover_after_restart())
        task_group.start_soon(self._refresh_loop)
        if store is not None:
            task_group.start_soon(self._persist_loop, store)
        logger.info(
            "HTC emulator ready: project %s (%s), jobs under %s",
            config.project_name,
            state.default_project_id,
            root,
        )

    async def _platform_app(self, state: State, root: Path) -> ASGIApp:
        """The platform API v2 (its own state and runner) behind its fault layer.

        Its state lives in memory only, so bytes an earlier run left under
        ``<jobs_root>/platform`` are removed first.
        """
        config = self.config
        platform_root = root / "platform"
        await anyio.to_thread.run_sync(_remove_tree, platform_root)
        platform = PlatformState(config, platform_root, lambda: state.api_keys)
        runner = PlatformRunner(platform, config, platform_root)
        api = PlatformApi(config=config, state=platform, runner=runner, counters=self.counters)
        self._platform, self._platform_runner = platform, runner
        return FaultLayer(
            api.app(),
            faults=self.faults,
            counters=self.counters,
            root_path=PLATFORM_ROOT,
            resolve=api.resolve,
            error_body=drf_error_body,
        )

    async def _jobs_root(self, stack: AsyncExitStack) -> Path:
        config = self.config
        if config.jobs_root is not None:
            root = config.jobs_root
        elif config.db_path is not None:  # kept with the database it belongs to
            root = config.db_path.with_name(f"{config.db_path.stem}-jobs")
        else:
            root = Path(await anyio.to_thread.run_sync(tempfile.mkdtemp, "", "htc-emulator-"))
            stack.push_async_callback(_in_thread, _remove_tree, root)
        await anyio.Path(root).mkdir(parents=True, exist_ok=True)
        return root

    @staticmethod
    async def _issuer_for(state: State, *, persistent: bool) -> TokenIssuer:
        """The token issuer: the stored key, a new one to store, or the process's shared one."""
        pem = state.meta.get("signing_key")
        if pem is not None:
            key = private_key_from_pem(pem)
        elif persistent:
            key = await anyio.to_thread.run_sync(new_private_key)
            state.set_meta("signing_key", private_key_to_pem(key))
        else:
            key = await anyio.to_thread.run_sync(shared_private_key)
        kid = state.meta.get("kid") or str(uuid.uuid4())
        state.set_meta("kid", kid)
        return TokenIssuer(key, kid, float(state.meta.get("revoked_before", "0")))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is None:
            return
        if self._task_group is not None:
            self._task_group.cancel_scope.cancel()
        try:
            # The block's own exception propagates untouched after cleanup (passing it into
            # the task group would wrap it in an exception group).
            await stack.__aexit__(None, None, None)
        finally:
            self._task_group = None

    async def _refresh_loop(self) -> None:
        state = self.state
        while True:
            await anyio.sleep(self.refresh_interval)
            state.publish()

    async def _persist_loop(self, store: Store) -> None:
        state = self.state
        while True:
            await anyio.sleep(self.config.persist_interval)
            batch = state.drain()
            if batch:
                await anyio.to_thread.run_sync(store.write, batch)

    async def _final_write(self, store: Store) -> None:
        state = self.state
        if self._issuer is not None:
            state.set_meta("revoked_before", repr(self._issuer.revoked_before))
        batch = state.drain()
        if batch:
            await _in_thread(store.write, batch)

    # ------------------------------------------------------------------ parts

    @property
    def state(self) -> State:
        """Everything the emulator holds (projects, tasks, jobs, logs...), for assertions."""
        if self._state is None:
            raise RuntimeError("the Emulator is not running: use `async with Emulator() as emu`")
        return self._state

    @property
    def runner(self) -> Runner:
        """The job runner (``processes``, ``max_processes``, ``started``)."""
        if self._runner is None:
            raise RuntimeError("the Emulator is not running: use `async with Emulator() as emu`")
        return self._runner

    @property
    def app(self) -> ASGIApp:
        """The ASGI application (fault layer in front of the API), for any ASGI server."""
        if self._app is None:
            raise RuntimeError("the Emulator is not running: use `async with Emulator() as emu`")
        return self._app

    @property
    def api_key(self) -> str:
        """An API key the emulator accepts."""
        return self.state.api_keys[0]

    @property
    def platform(self) -> PlatformState:
        """The platform API's state (jobs, files, counts, throttles), for tests."""
        if self._platform is None:
            raise RuntimeError("the Emulator is not running: use `async with Emulator() as emu`")
        return self._platform

    @property
    def platform_runner(self) -> PlatformRunner:
        """The platform job runner (``processes``, ``started``, ``jobs_root``)."""
        if self._platform_runner is None:
            raise RuntimeError("the Emulator is not running: use `async with Emulator() as emu`")
        return self._platform_runner

    @property
    def platform_api_key(self) -> str:
        """An API key the platform API accepts (``Authorization: Token <key>``): the user's
        key, the same as HTC's.
        """
        return self.api_key

    @property
    def project_id(self) -> str:
        """The id of the project the emulator starts with."""
        return self.state.default_project_id

    @property
    def jobs_root(self) -> Path:
        """Where job working directories are (``jobs/<parentJobId>_<index>``)."""
        return self.runner.jobs_root

    # ------------------------------------------------------------------ clients

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport that calls the emulator in process (no sockets)."""
        return InProcessTransport(self.app)

    def client(self, **kwargs: Any) -> HTCClient:
        """An ``HTCClient`` wired to this emulator (in process, or over HTTP when served).

        Keyword arguments go to ``HTCClient`` and win over the defaults (API key, base URL,
        transport).
        """
        from ..htc.client import HTCClient  # noqa: PLC0415 - built for the caller, never used here

        kwargs.setdefault("api_key", self.api_key)
        kwargs.setdefault("base_url", self.base_url)
        if not self.served:
            kwargs.setdefault("transport", self.transport())
        return HTCClient(**kwargs)

    def platform_client(self, **kwargs: Any) -> PlatformClient:
        """A ``PlatformClient`` wired to this emulator's ``/api/v2`` (in process, or over HTTP
        when served); keyword arguments win over the defaults, as for ``client()``.
        """
        from ..platform.client import PlatformClient  # noqa: PLC0415 - as in client()

        kwargs.setdefault("api_key", self.platform_api_key)
        kwargs.setdefault("base_url", self.platform_url)
        if not self.served:
            kwargs.setdefault("transport", self.transport())
        return PlatformClient(**kwargs)

    def http(self, *, token: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """A plain ``httpx.AsyncClient`` on the API root; ``token`` adds a bearer header.

        ``token=None`` sends no credentials; use ``emu.issue_token()`` for a valid one.
        """
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        kwargs.setdefault("base_url", self.base_url + "/")
        if not self.served:
            kwargs.setdefault("transport", self.transport())
        return httpx.AsyncClient(headers=headers, **kwargs)

    def platform_http(self, *, api_key: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """A plain ``httpx.AsyncClient`` on the platform API root (``.../api/v2/``), sending
        ``Authorization: Token <platform_api_key>`` (or ``api_key``; ``""`` sends none).
        """
        headers = dict(kwargs.pop("headers", {}))
        key = self.platform_api_key if api_key is None else api_key
        if key:
            headers["Authorization"] = f"Token {key}"
        kwargs.setdefault("base_url", self.platform_url + "/")
        if not self.served:
            kwargs.setdefault("transport", self.transport())
        return httpx.AsyncClient(headers=headers, **kwargs)

    # ------------------------------------------------------------------ tokens

    def issue_token(self, lifetime: float | None = None, **claims: Any) -> str:
        """A bearer token for the configured user (plus ``claims``), as /auth/token gives."""
        issuer = self._issuer
        if issuer is None:
            raise RuntimeError("the Emulator is not running: use `async with Emulator() as emu`")
        life = lifetime if lifetime is not None else self.faults.token_lifetime
        return issuer.issue(
            {**self.state.user_claims(), **claims},
            self.config.token_lifetime if life is None else life,
        )

    def revoke_tokens(self) -> None:
        """Refuse every bearer token issued so far (clients must get new ones)."""
        if self._issuer is not None:
            self._issuer.revoke_all()
            self.state.set_meta("revoked_before", repr(self._issuer.revoked_before))

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set, as ``GET /.well-known/jwks.json`` serves it."""
        if self._issuer is None:
            raise RuntimeError("the Emulator is not running: use `async with Emulator() as emu`")
        return self._issuer.jwks()

    # ------------------------------------------------------------------ jobs

    def refresh(self) -> int:
        """Publish job progress now instead of at the next refresh; returns jobs changed."""
        return self.state.publish()

    def add_image(
        self, name: str, *, pending_for: float = 0.0, project_id: str | None = None
    ) -> str:
        """Make image ``name`` exist (READY after ``pending_for`` seconds); returns its name."""
        return self.state.add_image(project_id or self.project_id, name, pending_for)

    async def wait_for_jobs(
        self,
        job_ids: Iterable[str] | None = None,
        *,
        visible: bool = True,
    ) -> list[JobRecord]:
        """Wait until the jobs (default: all) are finished as the API shows them
        (``visible=False``: as they really are, ignoring the refresh interval).

        Bound the wait with ``anyio.fail_after``.
        """
        state = self.state
        wanted = None if job_ids is None else list(job_ids)
        while True:
            ids = list(state.jobs) if wanted is None else wanted
            jobs = [state.jobs[job_id] for job_id in ids]
            views = (job.visible if visible else job.live for job in jobs)
            if all(view.status in TERMINAL for view in views):
                return jobs
            event = state.published if visible else state.changed
            await event.wait()


def _seed(state: State, config: EmulatorConfig) -> None:
    """What a new emulator starts with: an API key and the default project."""
    if not state.api_keys:
        state.api_keys.append(new_secret("emu-key"))
    if not state.projects:
        project = state.add_project(
            config.project_name, config.project_description, project_id=config.project_id
        )
        state.default_project_id = project.project_id
    elif not state.default_project_id:
        state.default_project_id = state.project_order[0]


async def _in_thread(func: Callable[..., object], *args: Any) -> None:
    """Run ``func`` in a worker thread, to completion even when cancelled (cleanup work)."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(func, *args)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
