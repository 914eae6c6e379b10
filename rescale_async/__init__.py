"""rescale_async: an async-first Python SDK for Rescale HTC.

``async with HTCClient() as client: project = await client.projects.get(pid)``
"""

from ._client import HTCClient
from ._core.auth import BearerToken
from ._core.exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ImageNotReadyError,
    InternalServerError,
    LedgerError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RescaleError,
    ResponseValidationError,
    SubmissionInDoubtError,
    TokenVerificationError,
    UnprocessableEntityError,
    WaitTimeoutError,
)
from ._core.pagination import AsyncPaginator, Page
from ._core.ratelimit import RateLimit
from ._core.retry import DefaultRetryPolicy, RetryBudget, RetryDecision, RetryPolicy
from .orchestration import (
    JobBatch,
    JobEvent,
    JobFailure,
    JobSpec,
    JobWatch,
    Ledger,
    LogStream,
    Progress,
    ProgressStream,
    WaitResult,
)
from .resources._ids import JobRef, TaskRef
from .types import *  # noqa: F403  (every model, enum and alias of the API)
from .types import __all__ as _types_all

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncPaginator",
    "AuthenticationError",
    "BadRequestError",
    "BearerToken",
    "ConfigurationError",
    "ConflictError",
    "DefaultRetryPolicy",
    "HTCClient",
    "ImageNotReadyError",
    "InternalServerError",
    "JobBatch",
    "JobEvent",
    "JobFailure",
    "JobRef",
    "JobSpec",
    "JobWatch",
    "Ledger",
    "LedgerError",
    "LogStream",
    "NotFoundError",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "Progress",
    "ProgressStream",
    "RateLimit",
    "RateLimitError",
    "RescaleError",
    "ResponseValidationError",
    "RetryBudget",
    "RetryDecision",
    "RetryPolicy",
    "SubmissionInDoubtError",
    "TaskRef",
    "TokenVerificationError",
    "UnprocessableEntityError",
    "WaitResult",
    "WaitTimeoutError",
    "__version__",
]
__all__ += _types_all  # noqa: PLE0605  (the models list themselves in types.__all__)
