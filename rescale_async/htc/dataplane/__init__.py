"""The data plane: what moves bytes outside the Rescale API (images into the project's
registry, task files in and out of storage).

A layer above ``resources`` and below ``orchestration``: it may import ``_core``,
``htc.types`` and ``htc.resources``, never ``htc.orchestration`` or the client. The client
composes these services over the resources, as it composes ``client.jobs``.
"""

from ._images import Images
from ._storage import Storage
from .registry import (
    BlobDigestError,
    ImageSourceError,
    PlatformManifest,
    PushedImage,
    PushProgress,
    PushProgressHook,
    RegistryError,
    RegistryHTTP,
    build_oci_layout,
)
from .storage import (
    StorageError,
    StorageIntegrityError,
    StorageNotFoundError,
    StorageService,
    StoredObject,
    TransferProgress,
    TransferProgressHook,
    TransferResult,
    UnsupportedStorageError,
    current_region,
    current_task,
)

__all__ = [
    "BlobDigestError",
    "ImageSourceError",
    "Images",
    "PlatformManifest",
    "PushProgress",
    "PushProgressHook",
    "PushedImage",
    "RegistryError",
    "RegistryHTTP",
    "Storage",
    "StorageError",
    "StorageIntegrityError",
    "StorageNotFoundError",
    "StorageService",
    "StoredObject",
    "TransferProgress",
    "TransferProgressHook",
    "TransferResult",
    "UnsupportedStorageError",
    "build_oci_layout",
    "current_region",
    "current_task",
]
