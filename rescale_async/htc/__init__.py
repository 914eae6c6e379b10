"""The Rescale HTC API: ``HTCClient``, its models (``htc.types``), resources and orchestration."""

from .client import HTCClient

__all__ = ["HTCClient"]
