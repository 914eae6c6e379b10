"""The emulator's data plane for storage: a real S3 API (moto) behind a gate that checks the
emulator's short-lived storage credentials as S3 checks STS ones.

``with storage_server() as storage: async with Emulator(**storage.config()) as emu: ...``
then every storage token names the server in ``AWS_ENDPOINT_URL`` and carries credentials
for its area (``s3://<bucket>/projects/<p>/tasks/<t>/`` or ``.../projects/<p>/shared/``), one
bucket per region, expiring after ``EmulatorConfig.storage_token_lifetime``.
``storage.control()`` injects faults, reads the request log and revokes tokens (tests).
"""

from ._gate import Fault
from ._server import (
    StorageControl,
    StorageServer,
    StorageUnavailableError,
    aws_region_of,
    bucket_for,
    moto_installed,
    serving_storage,
    storage_server,
)

__all__ = [
    "Fault",
    "StorageControl",
    "StorageServer",
    "StorageUnavailableError",
    "aws_region_of",
    "bucket_for",
    "moto_installed",
    "serving_storage",
    "storage_server",
]
