"""Moving files in and out of task and project storage, through the storage tokens.

``client.storage`` (``dataplane._storage``) is the face; here are its parts: what a token
grants and the holder renewing it for all concurrent transfers (``_credentials``), the engine
(``_engine``: aiobotocore, the ``storage`` extra; ``_bridge`` runs it under trio too;
``_service`` is what every view of a client shares), planning (``_plan``), uploads
(``_upload``), resumable downloads (``_download``), listing and deleting (``_listing``),
verification (``_verify``), each call's work (``_transfers``) and the job environment
(``_environment``).
"""

from ...._core.exceptions import (
    StorageError,
    StorageIntegrityError,
    StorageNotFoundError,
    UnsupportedStorageError,
)
from ._credentials import Grant, S3Credentials, StorageCredentials, StoreLocation
from ._environment import current_region, current_task
from ._models import StoredObject, TransferProgress, TransferProgressHook, TransferResult
from ._plan import DEFAULT_PART_SIZE, MIN_PART_SIZE
from ._service import StorageService
from ._target import TargetArea, area_of

__all__ = [
    "DEFAULT_PART_SIZE",
    "MIN_PART_SIZE",
    "Grant",
    "S3Credentials",
    "StorageCredentials",
    "StorageError",
    "StorageIntegrityError",
    "StorageNotFoundError",
    "StorageService",
    "StoreLocation",
    "StoredObject",
    "TargetArea",
    "TransferProgress",
    "TransferProgressHook",
    "TransferResult",
    "UnsupportedStorageError",
    "area_of",
    "current_region",
    "current_task",
]
