"""Which Python type stands for each schema of the HTC OpenAPI document.

``SCHEMA_TYPES`` maps every schema name of the (patched) document to the type a response of
that schema parses into. A schema sent as a request body whose request form differs (read-only
fields dropped, write-only fields added) also has an entry in ``REQUEST_TYPES``.
"""

from __future__ import annotations

from ._base import UTCDateTime
from .auth import (
    AuthToken,
    FeatureFlag,
    FeatureFlags,
    JsonWebKey,
    JsonWebKeySet,
    Key,
    OAuth2Token,
    Organization,
    PublicKey,
    TokenPayload,
    User,
    WhoAmI,
    Workspace,
)
from .clusters import AutoscalingConfig, Cluster, ClusterStatusReport, NodePool
from .compute import (
    ComputeEnvironment,
    ComputeEnvironmentSpec,
    DerivedComputeAttributes,
    ProjectDimensions,
    WorkspaceDimensions,
)
from .enums import (
    Architecture,
    AutoscalingProfile,
    CloudProvider,
    FailureCode,
    ImageState,
    JobPriority,
    JobStatus,
    LifecycleStatus,
    ModifierRole,
    Region,
    ResourceStatus,
    SupportedRegion,
    ViewType,
)
from .errors import OAuth2ErrorBody, RequestErrorBody
from .images import ImageList, ImageStatus, Repository
from .jobs import (
    ContainerDetails,
    InstanceLabels,
    Job,
    JobExecutionEnvironment,
    JobList,
    JobLogList,
    JobStatusEvent,
    JobStatusEventList,
    JobStatusSummary,
    LogEvent,
)
from .limits import LimitCreate, LimitUpdate, ProjectLimit, ProjectLimits, WorkspaceLimit
from .projects import (
    Project,
    ProjectCreate,
    ProjectList,
    ProjectUpdate,
    RegionComputeSettings,
    RegionSettings,
    RegionStorageSettings,
)
from .regions import InfraResource, RegionAdminSettings
from .retention import TaskRetentionPolicy, TaskRetentionPolicyUpdate, WorkspaceTaskRetentionPolicy
from .storage import (
    PresignedPutUrl,
    RegionalStorage,
    RegionalStore,
    RegionStorageOption,
    StorageAccessToken,
    StorageAccessTokens,
)
from .submit import (
    EnvVar,
    ExperimentalFields,
    JobDefinition,
    JobSubmitRequest,
    NameValuePair,
    RetryStrategy,
    SubmittedJob,
    SubmittedJobs,
    Tag,
)
from .tasks import Task, TaskCreate, TaskList, TaskUpdate

__all__ = ["REQUEST_TYPES", "SCHEMA_TYPES"]

SCHEMA_TYPES: dict[str, object] = {
    "Architecture": Architecture,
    "AutoscalingConfig": AutoscalingConfig,
    "AutoscalingProfile": AutoscalingProfile,
    "CloudProvider": CloudProvider,
    "ContainerDetails": ContainerDetails,
    "DerivedComputeAttributes": DerivedComputeAttributes,
    "EnvPair": EnvVar,
    "ExperimentalFields": ExperimentalFields,
    "FeatureFlagsResult": FeatureFlags,
    "HTCCluster": Cluster,
    "HTCClusterStatusResponse": ClusterStatusReport,
    "HTCComputeEnvironment": ComputeEnvironment,
    "HTCImageStatus": ImageStatus,
    "HTCImages": ImageList,
    "HTCInfraResource": InfraResource,
    "HTCJob": Job,
    "HTCJobDefinition": JobDefinition,
    "HTCJobErrorCodeName": FailureCode,
    "HTCJobLogs": JobLogList,
    "HTCJobStatusEvent": JobStatusEvent,
    "HTCJobStatusEvents": JobStatusEventList,
    "HTCJobSubmitRequest": SubmittedJob,
    "HTCJobSubmitRequests": SubmittedJobs,
    "HTCJobs": JobList,
    "HTCLimitCreate": LimitCreate,
    "HTCLimitUpdate": LimitUpdate,
    "HTCLogEvent": LogEvent,
    "HTCNodePool": NodePool,
    "HTCProject": Project,
    "HTCProjectDimensions": ProjectDimensions,
    "HTCProjectLimit": ProjectLimit,
    "HTCProjectLimits": ProjectLimits,
    "HTCProjectUpdate": ProjectUpdate,
    "HTCProjectsResponse": ProjectList,
    "HTCRegionAdminSettings": RegionAdminSettings,
    "HTCRegionComputeSettings": RegionComputeSettings,
    "HTCRegionSettings": RegionSettings,
    "HTCRegionStorageSettings": RegionStorageSettings,
    "HTCRepository": Repository,
    "HTCRequestError": RequestErrorBody,
    "HTCRetryStrategy": RetryStrategy,
    "HTCTask": Task,
    "HTCTaskUpdate": TaskUpdate,
    "HTCTasksResponse": TaskList,
    "HTCToken": AuthToken,
    "HTCTokenPayload": TokenPayload,
    "HTCWorkspaceDimensions": WorkspaceDimensions,
    "HTCWorkspaceLimit": WorkspaceLimit,
    "InstanceLabels": InstanceLabels,
    "Instant": UTCDateTime,
    "JobExecutionEnvironment": JobExecutionEnvironment,
    "JobPriority": JobPriority,
    "JobStatusSummary": JobStatusSummary,
    "JsonWebKey": JsonWebKey,
    "JsonWebKeySet": JsonWebKeySet,
    "Key": Key,
    "LifecycleStatus": LifecycleStatus,
    "ModifierRole": ModifierRole,
    "NameValuePair": NameValuePair,
    "NullableInstant": UTCDateTime | None,
    "OAuth2ErrorResponse": OAuth2ErrorBody,
    "OAuth2Token": OAuth2Token,
    "Organization": Organization,
    "PresignedPutUrlResponse": PresignedPutUrl,
    "PublicKey": PublicKey,
    "RegionStorageOption": RegionStorageOption,
    "RegionalStorageResponse": RegionalStorage,
    "RegionalStore": RegionalStore,
    "RescaleFlag": FeatureFlag,
    "RescaleJobStatus": JobStatus,
    "RescaleJobStatusEvent": JobStatusEvent,
    "RescaleRegion": Region,
    "RescaleUser": User,
    "Status": ImageState,
    "Status1": ResourceStatus,
    "StorageAccessToken": StorageAccessToken,
    "StorageAccessTokens": StorageAccessTokens,
    "SupportedRescaleRegion": SupportedRegion,
    "Tag": Tag,
    "TaskRetentionPolicy": TaskRetentionPolicy,
    "ViewType": ViewType,
    "WhoAmI": WhoAmI,
    "Workspace": Workspace,
    "WorkspaceTaskRetentionPolicy": WorkspaceTaskRetentionPolicy,
}

REQUEST_TYPES: dict[str, object] = {
    "HTCComputeEnvironment": ComputeEnvironmentSpec,
    "HTCJobSubmitRequest": JobSubmitRequest,
    "HTCProject": ProjectCreate,
    "HTCTask": TaskCreate,
    "TaskRetentionPolicy": TaskRetentionPolicyUpdate,
    "WorkspaceTaskRetentionPolicy": TaskRetentionPolicyUpdate,
}
