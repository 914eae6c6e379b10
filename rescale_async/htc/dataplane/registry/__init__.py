"""Pushing images into a project's registry without docker: OCI image layouts and
``docker save`` archives read in place, blobs streamed over the OCI distribution API, and a
builder of small OCI layouts from files.
"""

from ...._core.exceptions import BlobDigestError, ImageSourceError, RegistryError
from ._build import build_oci_layout
from ._http import RegistryHTTP
from ._results import PlatformManifest, PushedImage, PushProgress, PushProgressHook

__all__ = [
    "BlobDigestError",
    "ImageSourceError",
    "PlatformManifest",
    "PushProgress",
    "PushProgressHook",
    "PushedImage",
    "RegistryError",
    "RegistryHTTP",
    "build_oci_layout",
]
