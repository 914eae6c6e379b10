"""Orchestration of the platform API: waiting for jobs (a Completed failure read as one), running
them end to end exactly once across a crash, fast, resumable, verified downloads, and
quasi-persistent clusters (``Clusters``; importable without asyncssh, which only connecting needs).
"""

from ..._core.exceptions import (
    ChecksumMismatchError,
    ClusterAuthenticationError,
    ClusterError,
    ClusterNotReadyError,
    CommandError,
    CommandTimeoutError,
    DownloadError,
    HostKeyError,
    TransferError,
)
from ._cluster_nodes import Cluster, Node
from ._clusters import PERSISTENT_COMMAND, Clusters
from ._download import DownloadedFile
from ._files import Files
from ._hooks import ByteProgressHook, StatusHook
from ._jobs import PROCESS_OUTPUT, Jobs
from ._ledger import RunLedger, RunLedgerLike
from ._run import InputPath, JobRun, RunHook

__all__ = [
    "PERSISTENT_COMMAND",
    "PROCESS_OUTPUT",
    "ByteProgressHook",
    "ChecksumMismatchError",
    "Cluster",
    "ClusterAuthenticationError",
    "ClusterError",
    "ClusterNotReadyError",
    "Clusters",
    "CommandError",
    "CommandTimeoutError",
    "DownloadError",
    "DownloadedFile",
    "Files",
    "HostKeyError",
    "InputPath",
    "JobRun",
    "Jobs",
    "Node",
    "RunHook",
    "RunLedger",
    "RunLedgerLike",
    "StatusHook",
    "TransferError",
]
