"""The S3 engine (aiobotocore, the ``storage`` extra), on the asyncio side of the bridge.

One ``S3Session`` per transfer call and area: every S3 call is signed with the area's current
grant (one aiobotocore client per grant, made when first needed); a call S3 refuses with an
expired-token error renews the grant once (one renewal however many calls were refused at
once) and is made again. botocore's standard retry mode retries throttling, 5xx and
connection errors (``max_retries`` of the client). The transfers compute every body's
CRC32 themselves, in worker threads, so botocore's own checksums are off and the payload is
not hashed again for the signature (botocore would do that on the event loop over plain
HTTP; the CRC32 header covers the body instead).
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from ...._core.exceptions import ConfigurationError, StorageError, StorageNotFoundError
from ._bridge import CallerLoop
from ._credentials import Grant, StorageCredentials, StoreLocation

if TYPE_CHECKING:
    from aiobotocore.session import AioSession

__all__ = [
    "EXPIRED_TOKEN_CODES",
    "EngineSettings",
    "S3Session",
    "body_errors",
    "new_session",
    "require_engine",
    "with_session",
]

T = TypeVar("T")

EXPIRED_TOKEN_CODES = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "TokenRefreshRequired", "RequestExpired"}
)
"""S3 error codes meaning the credentials are no longer valid (renew and try again)."""
_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NotFound", "404"})


def require_engine() -> None:
    """A clear error when the ``storage`` extra (aiobotocore) is not installed."""
    if importlib.util.find_spec("aiobotocore") is None:
        raise ConfigurationError(
            "moving files to and from storage needs the storage extra: "
            "pip install 'rescale-async[storage]' (it installs aiobotocore)"
        )


_LOADERS: list[Any] = []
"""botocore's loader of service models, shared by every session of the process: loading the
S3 model costs a tenth of a second or more, a session using a loaded one a few ms."""
_LOADING = threading.Lock()


def new_session() -> AioSession:
    """An aiobotocore session (one per client) over the process's service-model loader."""
    from aiobotocore.session import get_session  # noqa: PLC0415 - the optional extra

    session = get_session()
    with _LOADING:
        if _LOADERS:
            session.register_component("data_loader", _LOADERS[0])
        else:
            _LOADERS.append(session.get_component("data_loader"))
    return session


def body_errors() -> tuple[type[BaseException], ...]:
    """Errors reading a response body (a dropped or stalled connection): worth a new GET."""
    import aiohttp  # noqa: PLC0415 - the optional extra's HTTP client
    from botocore.exceptions import HTTPClientError, IncompleteReadError  # noqa: PLC0415

    return (
        HTTPClientError,
        IncompleteReadError,
        aiohttp.ClientPayloadError,
        aiohttp.ClientConnectionError,
        TimeoutError,
    )


@dataclass(frozen=True)
class EngineSettings:
    """How the engine sends requests: ``max_retries`` of botocore's standard mode, the read
    ``timeout`` in seconds, and the connection pool's size.
    """

    max_retries: int = 3
    timeout: float = 60.0
    pool_size: int = 32


class S3Session:
    """S3 calls for one area within one transfer call, on the engine's (asyncio) loop."""

    def __init__(
        self,
        credentials: StorageCredentials,
        caller: CallerLoop,
        session: AioSession,
        settings: EngineSettings,
        stack: AsyncExitStack,
    ) -> None:
        self._credentials = credentials
        self._caller = caller
        self._session = session
        self._settings = settings
        self._stack = stack
        self._grant: Grant | None = None
        self._clients: dict[int, Any] = {}
        self._making = anyio.Lock()

    @property
    def area_name(self) -> str:
        """The area, as messages name it (``the storage of task ...``)."""
        return self._credentials.area.describe()

    async def grant(self) -> Grant:
        """The area's current grant (asked of the caller's loop only when it needs renewal)."""
        held = self._grant
        if held is not None and self._credentials.usable(held):
            return held
        held = await self._caller.call(self._credentials.current)
        self._grant = held
        return held

    async def _renewed(self, generation: int) -> Grant:
        async def renew() -> Grant:
            return await self._credentials.renew_after_rejection(generation)

        held = await self._caller.call(renew)
        self._grant = held
        return held

    async def _client(self, grant: Grant) -> Any:
        client = self._clients.get(grant.generation)
        if client is not None:
            return client
        async with self._making:
            client = self._clients.get(grant.generation)
            if client is None:
                client = await self._stack.enter_async_context(self._new_client(grant))
                self._clients[grant.generation] = client
        return client

    def _new_client(self, grant: Grant) -> Any:
        from aiobotocore.config import AioConfig  # noqa: PLC0415 - the optional extra

        location, keys, settings = grant.location, grant.credentials, self._settings
        config = AioConfig(
            max_pool_connections=settings.pool_size,
            read_timeout=settings.timeout,
            connect_timeout=min(settings.timeout, 30.0),
            retries={"max_attempts": settings.max_retries + 1, "mode": "standard"},
            s3={
                "addressing_style": "path" if location.endpoint_url else "auto",
                "payload_signing_enabled": False,
            },
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return self._session.create_client(
            "s3",
            region_name=location.region,
            endpoint_url=location.endpoint_url,
            aws_access_key_id=keys.access_key_id.get_secret_value(),
            aws_secret_access_key=keys.secret_access_key.get_secret_value(),
            aws_session_token=None
            if keys.session_token is None
            else keys.session_token.get_secret_value(),
            config=config,
        )

    async def call(self, operation: str, key: str | None = None, **params: Any) -> dict[str, Any]:
        """S3 ``operation`` on the area's bucket (``Key`` is ``key`` within the area, when
        given); once more with renewed credentials if S3 says they expired.
        """
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        grant = await self.grant()
        body: Any = params.get("Body")
        start = body.tell() if hasattr(body, "seek") else None
        for first_try in (True, False):
            client = await self._client(grant)
            arguments = {"Bucket": grant.location.bucket, **params}
            if key is not None:
                arguments["Key"] = grant.location.key(key)
            try:
                answer: dict[str, Any] = await getattr(client, operation)(**arguments)
            except ClientError as exc:
                if first_try and _expired(exc, operation):
                    grant = await self._renewed(grant.generation)
                    if start is not None:
                        body.seek(start)  # the refused request read it
                    continue
                raise _storage_error(exc, operation, key, self.area_name) from None
            except BotoCoreError as exc:
                raise StorageError(
                    f"S3 {operation} of {key or 'the area'} in {self.area_name} failed: {exc}",
                    key=key,
                ) from exc
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    async def location(self) -> StoreLocation:
        """The area's store location (bucket, prefix, region, endpoint)."""
        return (await self.grant()).location


def _expired(exc: Any, operation: str) -> bool:
    """Whether S3 refused the credentials as expired. A HEAD answer has no body, so its 400
    (what S3 answers an expired token on HEAD) counts too.
    """
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return str(error.get("Code")) in EXPIRED_TOKEN_CODES or (
        operation == "head_object" and status == 400
    )


def _storage_error(exc: Any, operation: str, key: str | None, where: str) -> StorageError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = error.get("Message") or ""
    what = f"S3 {operation} of {key!r}" if key is not None else f"S3 {operation}"
    kind = StorageNotFoundError if code in _NOT_FOUND_CODES or status == 404 else StorageError
    return kind(
        f"{what} in {where} failed: {status} {code} {message}".rstrip(),
        code=code or None,
        status_code=status,
        key=key,
    )


async def with_session(
    credentials: StorageCredentials,
    caller: CallerLoop,
    session: AioSession,
    settings: EngineSettings,
    work: Callable[[S3Session], Awaitable[T]],
) -> T:
    """``await work(s3)`` with an ``S3Session`` whose clients are closed afterwards, even
    when cancelled (an unclosed one would leave its connection pool open).
    """
    stack = AsyncExitStack()
    try:
        return await work(S3Session(credentials, caller, session, settings, stack))
    finally:
        with anyio.CancelScope(shield=True):
            await stack.aclose()
