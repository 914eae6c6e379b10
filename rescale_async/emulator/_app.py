"""The HTC API as Starlette routes over the emulator's state.

Paths, parameters and bodies follow the patched OpenAPI document; error bodies follow the
service (401/404: ``{error, errorDescription}``; 400: ``{errorType, errorDescription,
message}``). Request bodies are validated with the SDK's request models, ignoring unknown
fields as the service does.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, compile_path

from ..types import (
    CloudProvider,
    ComputeEnvironmentSpec,
    FeatureFlag,
    FeatureFlags,
    ImageList,
    ImageStatus,
    JobDefinition,
    JobStatus,
    JobStatusSummary,
    JobSubmitRequest,
    LifecycleStatus,
    LimitCreate,
    LimitUpdate,
    OAuth2Token,
    Organization,
    PresignedPutUrl,
    ProjectCreate,
    ProjectUpdate,
    RegionAdminSettings,
    RegionalStorage,
    RegionalStore,
    RegionStorageOption,
    Repository,
    StorageAccessTokens,
    SubmittedJob,
    SupportedRegion,
    TaskCreate,
    TaskRetentionPolicy,
    TaskRetentionPolicyUpdate,
    TaskUpdate,
    User,
    ViewType,
    WhoAmI,
    Workspace,
    WorkspaceLimit,
    WorkspaceTaskRetentionPolicy,
)
from ._config import EmulatorConfig
from ._errors import ApiError, bad_request, not_found, unauthorized
from ._faults import Counters, Faults
from ._pages import Cursor, next_url, page_body, page_request, paginate
from ._records import ProjectRecord, TaskRecord, now
from ._runner import Runner
from ._state import State, require_workspace
from ._tokens import InvalidToken, TokenIssuer
from ._views import dimension as dimension_view
from ._views import (
    job_view,
    limit_view,
    log_view,
    project_view,
    provider_of,
    status_counts,
    storage_token,
    task_view,
    workspace_dimensions,
)

__all__ = ["API_ROOT", "Api"]

logger = logging.getLogger("rescale_async.emulator")

API_ROOT = "/api/v1"

M = TypeVar("M", bound=BaseModel)
Handler = Callable[[Request], Awaitable[Response]]

_REPO_NAME = re.compile(r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*")
_STATUSES = {str(s) for s in JobStatus}
_SUPPORTED_REGIONS = {str(r) for r in SupportedRegion}


# The service ignores fields it does not know (the rescalehtc library sends "region" in job
# submissions); the SDK's request models refuse them, so the emulator validates with lenient
# subclasses that keep every documented check.
class _Definition(JobDefinition):
    model_config = ConfigDict(extra="ignore")


class _Submit(JobSubmitRequest):
    model_config = ConfigDict(extra="ignore")
    htc_job_definition: _Definition


def _lenient(model: type[M]) -> type[M]:
    return type(f"Lenient{model.__name__}", (model,), {"model_config": ConfigDict(extra="ignore")})


_ProjectCreate = _lenient(ProjectCreate)
_ProjectUpdate = _lenient(ProjectUpdate)
_TaskCreate = _lenient(TaskCreate)
_TaskUpdate = _lenient(TaskUpdate)
_LimitCreate = _lenient(LimitCreate)
_LimitUpdate = _lenient(LimitUpdate)
_RetentionUpdate = _lenient(TaskRetentionPolicyUpdate)
_EnvironmentSpec = _lenient(ComputeEnvironmentSpec)


def _problems(exc: ValidationError, prefix: str = "") -> list[str]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        where = prefix
        for part in error["loc"]:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        problems.append(f"{where or 'body'}: {error['msg']}")
    return problems


def _validate(model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc)
        raise bad_request("VALIDATION_ERROR", f"Invalid {what}", "; ".join(problems)) from None


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise bad_request("INVALID_REQUEST_BODY", "Required request body is missing")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise bad_request("INVALID_REQUEST_BODY", f"JSON parse error: {exc}") from None


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def _choice(request: Request, name: str, allowed: Iterable[str], default: str | None) -> str | None:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    allowed_set = set(allowed)
    if value not in allowed_set:
        raise bad_request(
            "INVALID_PARAMETER",
            f"{name} must be one of {', '.join(sorted(allowed_set))}, got {value!r}",
        )
    return value


@dataclass(frozen=True)
class _RouteSpec:
    methods: tuple[str, ...]
    template: str
    handler: Handler


class Api:
    """The routes, bound to one emulator's state."""

    def __init__(
        self,
        *,
        config: EmulatorConfig,
        state: State,
        runner: Runner,
        issuer: TokenIssuer,
        faults: Faults,
        counters: Counters,
        rng: random.Random,
    ) -> None:
        self.config = config
        self.state = state
        self.runner = runner
        self.issuer = issuer
        self.faults = faults
        self.counters = counters
        self.rng = rng
        self.specs = self._specs()
        self._matchers = [
            (spec.methods, spec.template.replace(":path}", "}"), compile_path(spec.template)[0])
            for spec in self.specs
        ]

    # ------------------------------------------------------------------ wiring

    def _specs(self) -> list[_RouteSpec]:
        p = "/htc/projects/{projectId}"
        t = p + "/tasks/{taskId}"
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/.well-known/jwks.json", self.jwks),
            ("GET", "/auth/token", self.token),
            ("GET", "/auth/token/whoami", self.token_whoami),
            ("GET", "/auth/whoami", self.whoami),
            ("POST", "/oauth2/token", self.oauth2_token),
            ("GET", "/htc/gcp/clusters/{workspaceId}", self.gcp_clusters),
            ("GET", "/htc/metrics", self.metrics),
            ("GET", "/htc/projects", self.list_projects),
            ("POST", "/htc/projects", self.create_project),
            ("GET", p, self.get_project),
            ("PATCH", p, self.update_project),
            ("GET", p + "/container-registry/images", self.list_images),
            ("GET", p + "/container-registry/images/{imageName:path}", self.get_image),
            ("POST", p + "/container-registry/repo/{repoName:path}", self.create_repo),
            ("GET", p + "/container-registry/token", self.registry_token),
            ("GET", p + "/dimensions", self.get_dimensions),
            ("PUT", p + "/dimensions", self.put_dimensions),
            ("GET", p + "/limits", self.list_limits),
            ("POST", p + "/limits", self.create_limit),
            ("DELETE", p + "/limits", self.delete_limits),
            ("GET", p + "/limits/{id}", self.get_limit),
            ("PATCH", p + "/limits/{id}", self.update_limit),
            ("DELETE", p + "/limits/{id}", self.delete_limit),
            ("GET", p + "/storage/presigned-url", self.project_presigned_url),
            ("GET", p + "/storage/token", self.project_storage_token),
            ("GET", p + "/storage/token/{region}", self.project_storage_token),
            ("GET", p + "/storage/tokens", self.project_storage_tokens),
            ("GET", p + "/task-retention-policy", self.get_retention),
            ("PUT", p + "/task-retention-policy", self.put_retention),
            ("DELETE", p + "/task-retention-policy", self.delete_retention),
            ("GET", p + "/tasks", self.list_tasks),
            ("POST", p + "/tasks", self.create_task),
            ("GET", t, self.get_task),
            ("PATCH", t, self.update_task),
            ("DELETE", t, self.delete_task),
            ("GET", t + "/group-summary-statistics", self.group_summaries),
            ("GET", t + "/groups", self.groups),
            ("GET", t + "/jobs", self.list_jobs),
            ("POST", t + "/jobs/batch", self.submit_jobs),
            ("POST", t + "/jobs/cancel", self.cancel_jobs),
            ("GET", t + "/jobs/{jobId}", self.get_job),
            ("GET", t + "/jobs/{jobId}/events", self.job_events),
            ("GET", t + "/jobs/{jobId}/logs", self.job_logs),
            ("GET", t + "/storage/presigned-url", self.task_presigned_url),
            ("GET", t + "/storage/regional-storage", self.regional_storage),
            ("GET", t + "/storage/token", self.task_storage_token),
            ("GET", t + "/storage/token/{region}", self.task_storage_token),
            ("GET", t + "/storage/tokens", self.task_storage_tokens),
            ("GET", t + "/summary-statistics", self.summary),
            ("GET", "/htc/regions", self.regions),
            ("GET", "/htc/regions/{region}", self.region),
            ("GET", "/htc/storage", self.storage_options),
            ("GET", "/htc/storage/region/{region}", self.storage_option),
            ("GET", "/htc/workspaces/{workspaceId}/dimensions", self.workspace_dimensions),
            ("GET", "/htc/workspaces/{workspaceId}/limits", self.workspace_limits),
            ("GET", "/htc/workspaces/{workspaceId}/task-retention-policy", self.get_ws_retention),
            ("PUT", "/htc/workspaces/{workspaceId}/task-retention-policy", self.put_ws_retention),
        ]
        merged: dict[str, dict[str, Handler]] = {}
        for method, template, handler in table:
            merged.setdefault(template, {})[method] = handler
        return [
            _RouteSpec((method,), template, handler)
            for template, handlers in merged.items()
            for method, handler in handlers.items()
        ]

    def resolve(self, method: str, path: str) -> str:
        """The path template a request is for (``<unmatched>`` when none)."""
        fallback = None
        for methods, template, regex in self._matchers:
            if regex.match(path):
                if method in methods:
                    return template
                fallback = fallback or template
        return fallback or "<unmatched>"

    def app(self) -> Starlette:
        """The Starlette application serving the API under ``/api/v1``."""
        by_template: dict[str, list[_RouteSpec]] = {}
        for spec in self.specs:
            by_template.setdefault(spec.template, []).append(spec)
        routes: list[BaseRoute] = []
        for template, specs in by_template.items():
            handlers = {spec.methods[0]: spec.handler for spec in specs}
            routes.append(Route(template, self._dispatch(handlers), methods=list(handlers)))
        return Starlette(
            routes=[Mount(API_ROOT, routes=routes)],
            exception_handlers={
                ApiError: _api_error,
                HTTPException: _http_error,
            },
        )

    @staticmethod
    def _dispatch(handlers: dict[str, Handler]) -> Handler:
        async def endpoint(request: Request) -> Response:
            handler = handlers[request.method]
            return await handler(request)

        return endpoint

    # ------------------------------------------------------------------ auth

    def _authorization(self, request: Request) -> tuple[str, str]:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.strip().partition(" ")
        if not scheme or not value.strip():
            raise unauthorized(
                "unauthorized", "Full authentication is required to access this resource"
            )
        return scheme.lower(), value.strip()

    def bearer(self, request: Request) -> dict[str, Any]:
        """The claims of the request's bearer token; 401 when it has none usable."""
        scheme, value = self._authorization(request)
        if scheme != "bearer":
            raise unauthorized(
                "invalid_token", "This endpoint requires an Authorization: Bearer <token> header"
            )
        try:
            return self.issuer.verify(value)
        except InvalidToken as exc:
            raise unauthorized("invalid_token", exc.description) from None

    def credential(self, request: Request) -> dict[str, Any]:
        """The claims an API key or refresh token stands for; 401 when it is not known."""
        scheme, value = self._authorization(request)
        if scheme == "token":
            if value in self.state.api_keys:
                return self.state.user_claims()
            raise unauthorized("unauthorized", "Invalid API key")
        if scheme == "refresh":
            claims = self.state.refresh_tokens.get(value)
            if claims is not None:
                return dict(claims)
            raise unauthorized("unauthorized", "Invalid refresh token")
        raise unauthorized(
            "unauthorized",
            "Expected an Authorization: Token <API key> or Refresh <refresh token> header",
        )

    def _lifetime(self) -> float:
        override = self.faults.token_lifetime
        return self.config.token_lifetime if override is None else override

    async def jwks(self, request: Request) -> Response:
        return _json(self.issuer.jwks())

    async def token(self, request: Request) -> Response:
        claims = self.credential(request)
        lifetime = self._lifetime()
        token = self.issuer.issue(claims, lifetime)
        return _json({"tokenValue": token, "expiresIn": int(lifetime)})

    async def token_whoami(self, request: Request) -> Response:
        claims = self.bearer(request)
        # HTCTokenPayload is a string in the published schema: the payload, JSON-encoded.
        return _json(json.dumps(claims, sort_keys=True))

    async def whoami(self, request: Request) -> Response:
        self.credential(request)
        c = self.config
        user = User(
            user_id=c.user_id,
            email=c.user_email,
            full_name=c.user_full_name,
            organization=Organization(code=c.organization_code, can_view_organization_jobs=True),
            workspace=Workspace(id=c.workspace_id, name=c.workspace_name),
            is_organization_admin=True,
            is_rescale_admin=False,
            is_superuser=False,
            is_workspace_admin=True,
            organization_admin=True,
            rescale_admin=False,
            superuser=False,
            workspace_admin=True,
        )
        features = FeatureFlags(count=1, results=[FeatureFlag(name="htc", value=True)])
        return _json(WhoAmI(user=user, user_features=features).to_api())

    async def oauth2_token(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", errors="replace")
        fields = dict(parse_qsl(raw, keep_blank_values=True))
        client_id, secret = fields.get("client_id"), fields.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
                client_id, _, secret = decoded.partition(":")
            except (binascii.Error, UnicodeDecodeError):
                client_id = secret = None
        if fields.get("grant_type") != "client_credentials":
            return _json(
                {
                    "error": "unsupported_grant_type",
                    "errorDescription": "Only grant_type=client_credentials is supported",
                },
                400,
            )
        if client_id != self.config.oauth_client_id or secret not in self.state.api_keys:
            return _json(
                {"error": "invalid_client", "errorDescription": "Client authentication failed"},
                400,
            )
        lifetime = self._lifetime()
        token = self.issuer.issue(self.state.user_claims(), lifetime)
        body = OAuth2Token.model_validate(
            {"access_token": token, "expires_in": int(lifetime), "token_type": "Bearer"}
        )
        return _json(body.to_api())

    # ------------------------------------------------------------------ helpers

    def _project(self, request: Request) -> ProjectRecord:
        return self.state.project(request.path_params["projectId"])

    def _task(self, request: Request, *, request_error: bool = False) -> TaskRecord:
        return self.state.task(
            request.path_params["projectId"],
            request.path_params["taskId"],
            request_error=request_error,
        )

    # ------------------------------------------------------------------ workspace-wide

    async def gcp_clusters(self, request: Request) -> Response:
        self.bearer(request)
        require_workspace(self.state, request.path_params["workspaceId"])
        clusters = [
            {
                "name": f"htc-{region.lower().replace('_', '-')}",
                "region": region,
                "status": "RUNNING",
                "version": "1.30",
                "subnetwork": "default",
                "autoscaling": "BALANCED",
                "nodePools": [],
            }
            for region in self.config.regions
            if region.startswith("GCP")
        ]
        return _json({"gcpProjectId": "emulator-gcp-project", "clusters": clusters})

    async def metrics(self, request: Request) -> Response:
        self.bearer(request)
        lines = [
            "# HELP htc_emulator_requests_total Requests received, by endpoint.",
            "# TYPE htc_emulator_requests_total counter",
        ]
        for endpoint, count in sorted(self.counters.requests.items()):
            lines.append(f'htc_emulator_requests_total{{endpoint="{endpoint}"}} {count}')
        lines += [
            "# HELP htc_emulator_jobs Jobs, by status (as the API shows them).",
            "# TYPE htc_emulator_jobs gauge",
        ]
        for status, count in sorted(status_counts(self.state.jobs.values()).items()):
            lines.append(f'htc_emulator_jobs{{status="{status}"}} {count}')
        lines += [
            "# HELP htc_emulator_job_processes Job processes running now.",
            "# TYPE htc_emulator_job_processes gauge",
            f"htc_emulator_job_processes {self.runner.processes}",
        ]
        return PlainTextResponse("\n".join(lines) + "\n")

    async def regions(self, request: Request) -> Response:
        """Every region's settings. The published schema names one HTCInfraResource, but the
        operation ("region settings for all regions", filtered by ``cloudProvider`` and
        ``enabled``) returns a list of HTCRegionAdminSettings, which is what is sent."""
        self.bearer(request)
        provider = _choice(request, "cloudProvider", (str(p) for p in CloudProvider), None)
        enabled = _choice(request, "enabled", ("true", "false"), None)
        settings = [self._region_settings(str(region)) for region in SupportedRegion]
        chosen = [
            item
            for item in settings
            if (provider is None or item["cloudProvider"] == provider)
            and (enabled is None or item["enabled"] == (enabled == "true"))
        ]
        return _json(chosen)

    def _region_settings(self, region: str) -> dict[str, Any]:
        architectures = ["X86", "AARCH64"] if region.startswith("AWS") else ["X86"]
        return RegionAdminSettings.model_validate(
            {
                "region": region,
                "cloud_provider": provider_of(region),
                "enabled": region in self.config.regions,
                "supported_architectures": architectures,
                "weight": 1.0,
                "updated_at": self._workspace_created(),
                "updated_by": self.config.user_id,
            }
        ).to_api()

    def _workspace_created(self) -> datetime:
        order = self.state.project_order
        return self.state.projects[order[0]].created_at if order else now()

    def _known_region(self, region: str) -> None:
        if region not in _SUPPORTED_REGIONS:
            raise not_found(f"Region {region} not found")

    async def region(self, request: Request) -> Response:
        self.bearer(request)
        region = request.path_params["region"]
        self._known_region(region)
        return _json(self._region_settings(region))

    def _storage_option(self, region: str) -> dict[str, Any]:
        return RegionStorageOption.model_validate(
            {
                "provider": provider_of(region),
                "region": region,
                "storage_name": f"emulator-storage-{region.lower().replace('_', '-')}",
            }
        ).to_api()

    async def storage_options(self, request: Request) -> Response:
        self.bearer(request)
        return _json([self._storage_option(region) for region in self.config.regions])

    async def storage_option(self, request: Request) -> Response:
        self.bearer(request)
        region = request.path_params["region"]
        if region not in self.config.regions:
            raise not_found(f"No storage in region {region}")
        return _json(self._storage_option(region))

    async def workspace_dimensions(self, request: Request) -> Response:
        self.bearer(request)
        require_workspace(self.state, request.path_params["workspaceId"])
        return _json(workspace_dimensions(self.config.regions))

    async def workspace_limits(self, request: Request) -> Response:
        self.bearer(request)
        require_workspace(self.state, request.path_params["workspaceId"])
        created = self._workspace_created()
        body = WorkspaceLimit.model_validate(
            {
                "v_cpus": self.config.workspace_vcpu_limit,
                "workspace_id": self.config.workspace_id,
                "created_at": created,
                "created_by": self.config.user_id,
                "updated_at": created,
                "updated_by": self.config.user_id,
            }
        )
        return _json(body.to_api())

    async def get_ws_retention(self, request: Request) -> Response:
        self.bearer(request)
        require_workspace(self.state, request.path_params["workspaceId"])
        policy = WorkspaceTaskRetentionPolicy.model_validate(self.state.workspace_retention)
        return _json(policy.to_api())

    async def put_ws_retention(self, request: Request) -> Response:
        self.bearer(request)
        require_workspace(self.state, request.path_params["workspaceId"])
        update = _validate(_RetentionUpdate, await _body(request), "task retention policy")
        self.state.set_workspace_retention(update.archive_after, update.delete_after)
        policy = WorkspaceTaskRetentionPolicy.model_validate(self.state.workspace_retention)
        return _json(policy.to_api(), 201)

    # ------------------------------------------------------------------ projects

    def _project_view(self, project: ProjectRecord) -> dict[str, Any]:
        return project_view(project, self.state.registry_url(project.project_id), self.config)

    async def list_projects(self, request: Request) -> Response:
        claims = self.bearer(request)
        only_mine = _choice(request, "onlyMyProjects", ("true", "false", "True", "False"), "false")
        page = page_request(request, "projects", maximum=self.config.max_page_size)
        state = self.state

        def keep(project_id: str) -> bool:
            return only_mine not in ("true", "True") or (
                state.projects[project_id].created_by == claims.get("userId")
            )

        chosen, link = paginate(request, state.project_order, page, keep=keep)
        items = [self._project_view(state.projects[pid]) for pid in chosen]
        return _json(page_body(items, link))

    async def create_project(self, request: Request) -> Response:
        self.bearer(request)
        spec = _validate(_ProjectCreate, await _body(request), "project")
        regions = [str(r) for r in spec.regions] if spec.regions else list(self.config.regions)
        if not regions:
            raise bad_request("INVALID_REGION", "A project needs at least one region")
        self.state.check_regions(regions, self.config.regions, "Region")
        project = self.state.add_project(spec.project_name, spec.project_description, regions)
        return _json(self._project_view(project))

    async def get_project(self, request: Request) -> Response:
        self.bearer(request)
        return _json(self._project_view(self._project(request)))

    async def update_project(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        update = _validate(_ProjectUpdate, await _body(request), "project update")
        if update.regions is not None:
            regions = [str(r) for r in update.regions]
            if not regions:
                raise bad_request("INVALID_REGION", "A project needs at least one region")
            self.state.check_regions(regions, self.config.regions, "Region")
            project.regions = list(dict.fromkeys(regions))
            self.state.touch_project(project)
        return _json(self._project_view(project))

    # ------------------------------------------------------------------ container registry

    async def list_images(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        body = ImageList(
            container_registry=self.state.registry_url(project.project_id),
            images=sorted(project.images),
        )
        return _json(body.to_api())

    async def get_image(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        name = request.path_params["imageName"]
        status = self.state.image_status(project, name)
        if status is None:
            message = (
                f"Image {name} is unavailable. Please check the image name. If the image was "
                "pushed recently, try again at a later time"
            )
            raise ApiError(
                404,
                {
                    "error": "IMAGE_UNAVAILABLE",
                    "errorType": "IMAGE_UNAVAILABLE",
                    "errorDescription": message,
                    "message": message,
                },
            )
        return _json(ImageStatus.model_validate({"status": status}).to_api())

    async def create_repo(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        name = request.path_params["repoName"]
        if not _REPO_NAME.fullmatch(name):
            raise bad_request(
                "INVALID_REPOSITORY_NAME",
                f"repoName must match the regex '{_REPO_NAME.pattern}', got {name!r}",
            )
        created = name not in project.repositories
        if created:
            project.repositories.append(name)
            self.state.touch_project(project)
        body = Repository(
            repository_name=name,
            registry_uri=self.state.registry_url(project.project_id) + name,
            successfully_created=created,
            project_id=project.project_id,
            workspace_id=self.config.workspace_id,
            created_by=self.config.user_id,
        )
        return _json(body.to_api())

    async def registry_token(self, request: Request) -> Response:
        self.bearer(request)
        return PlainTextResponse(self._project(request).registry_token)

    # ------------------------------------------------------------------ dimensions & limits

    async def get_dimensions(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        if project.dimensions is None:
            return _json(workspace_dimensions(project.regions))
        return _json(project.dimensions)

    async def put_dimensions(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        body = await _body(request)
        if not isinstance(body, list):
            raise bad_request("VALIDATION_ERROR", "Expected a JSON array of compute environments")
        environments = []
        for index, item in enumerate(body):
            try:
                spec = _EnvironmentSpec.model_validate(item)
            except ValidationError as exc:
                problems = _problems(exc, f"[{index}]")
                raise bad_request(
                    "VALIDATION_ERROR", "Invalid compute environment", "; ".join(problems)
                ) from None
            if spec.region is not None:
                self.state.check_regions([str(spec.region)], project.regions, "Region")
            environments.append(dimension_view(spec.to_api()))
        project.dimensions = environments
        self.state.touch_project(project)
        return _json(environments, 201)

    async def list_limits(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        limits = self.state.project_limits(project.project_id)
        return _json([limit_view(limit, self.config) for limit in limits])

    async def create_limit(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        spec = _validate(_LimitCreate, await _body(request), "limit")
        limit = self.state.add_limit(project.project_id, spec.v_cpus, str(spec.modifier_role))
        self.runner.wake()
        return _json(limit_view(limit, self.config), 201)

    async def delete_limits(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        for limit in self.state.project_limits(project.project_id):
            self.state.delete_limit(limit)
        self.runner.wake()
        return Response(status_code=204)

    async def get_limit(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        limit = self.state.limit(project.project_id, request.path_params["id"])
        return _json(limit_view(limit, self.config))

    async def update_limit(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        limit = self.state.limit(project.project_id, request.path_params["id"])
        update = _validate(_LimitUpdate, await _body(request), "limit update")
        self.state.update_limit(limit, update.v_cpus)
        self.runner.wake()
        return _json(limit_view(limit, self.config))

    async def delete_limit(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        limit = self.state.limit(project.project_id, request.path_params["id"])
        self.state.delete_limit(limit)
        self.runner.wake()
        return Response(status_code=204)

    # ------------------------------------------------------------------ storage

    def _region_param(self, request: Request, allowed: list[str]) -> str:
        region = request.path_params.get("region")
        if region is None:
            return allowed[0]
        if region not in allowed:
            raise not_found(f"No storage for region {region} in this project")
        return str(region)

    def _file_path(self, request: Request) -> str:
        file_path = request.query_params.get("filePath", "")
        if not file_path:
            raise bad_request("INVALID_PARAMETER", "filePath is required")
        return file_path.lstrip("/")

    def _presigned(self, project: ProjectRecord, key: str) -> Response:
        region = project.regions[0]
        bucket = f"emulator-storage-{region.lower().replace('_', '-')}"
        signature = uuid.uuid4().hex
        url = (
            f"https://{bucket}.s3.amazonaws.com/{quote(key)}"
            f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=3600&X-Amz-Signature={signature}"
        )
        body = PresignedPutUrl.model_validate(
            {
                "url": url,
                "storage_name": bucket,
                "region": region,
                "expiration": _in(3600),
            }
        )
        return _json(body.to_api())

    async def project_presigned_url(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        key = f"projects/{project.project_id}/shared/{self._file_path(request)}"
        return self._presigned(project, key)

    async def task_presigned_url(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request)
        project = self.state.project(task.project_id)
        key = f"projects/{project.project_id}/tasks/{task.task_id}/{self._file_path(request)}"
        return self._presigned(project, key)

    async def project_storage_token(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        region = self._region_param(request, project.regions)
        return _json(storage_token(project, region, self.config))

    async def project_storage_tokens(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        stores = [storage_token(project, r, self.config) for r in project.regions]
        body = StorageAccessTokens.model_validate(
            {"default_region": project.regions[0], "region_stores": stores}
        )
        return _json(body.to_api())

    async def task_storage_token(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request)
        project = self.state.project(task.project_id)
        region = self._region_param(request, project.regions)
        return _json(storage_token(project, region, self.config, task.task_id))

    async def task_storage_tokens(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request)
        project = self.state.project(task.project_id)
        stores = [storage_token(project, r, self.config, task.task_id) for r in project.regions]
        body = StorageAccessTokens.model_validate(
            {"default_region": project.regions[0], "region_stores": stores}
        )
        return _json(body.to_api())

    async def regional_storage(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request)
        project = self.state.project(task.project_id)
        stores = []
        for region in project.regions:
            token = storage_token(project, region, self.config, task.task_id)
            bucket = token["storageName"]
            stores.append(
                RegionalStore.model_validate(
                    {
                        "provider": provider_of(region),
                        "region": region,
                        "project_path": f"s3://{bucket}/projects/{project.project_id}/shared/",
                        "task_path": f"s3://{bucket}/projects/{project.project_id}/tasks/"
                        f"{task.task_id}/",
                        "credentials": token["credentials"],
                    }
                )
            )
        body = RegionalStorage.model_validate(
            {"rescale_region": project.regions[0], "regional_stores": stores}
        )
        return _json(body.to_api())

    # ------------------------------------------------------------------ retention

    async def get_retention(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        if project.retention is None:
            raise not_found(f"No task retention policy set for project {project.project_id}")
        return _json(project.retention)

    async def put_retention(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        update = _validate(_RetentionUpdate, await _body(request), "task retention policy")
        policy = TaskRetentionPolicy(
            archive_after=update.archive_after,
            delete_after=update.delete_after,
            project_id=project.project_id,
            created_at=now(),
        )
        project.retention = policy.to_api()
        self.state.touch_project(project)
        return _json(project.retention, 201)

    async def delete_retention(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        project.retention = None
        self.state.touch_project(project)
        return Response(status_code=204)

    # ------------------------------------------------------------------ tasks

    async def list_tasks(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        page = page_request(
            request, f"tasks:{project.project_id}", maximum=self.config.max_page_size
        )
        order = self.state.task_order.get(project.project_id, [])
        chosen, link = paginate(request, order, page)
        items = [task_view(self.state.tasks[tid], self.config) for tid in chosen]
        return _json(page_body(items, link))

    async def create_task(self, request: Request) -> Response:
        self.bearer(request)
        project = self._project(request)
        spec = _validate(_TaskCreate, await _body(request), "task")
        task = self.state.add_task(project, spec.task_name, spec.task_description)
        return _json(task_view(task, self.config))

    async def get_task(self, request: Request) -> Response:
        self.bearer(request)
        return _json(task_view(self._task(request), self.config))

    async def update_task(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request)
        update = _validate(_TaskUpdate, await _body(request), "task update")
        self.state.set_lifecycle(task, str(update.lifecycle_status))
        return _json(task_view(task, self.config))

    async def delete_task(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request)
        if task.lifecycle != LifecycleStatus.DELETED:
            self.runner.cancel(list(self.state.task_job_records(task.task_id)))
            self.state.delete_task(task)
        return _json(task_view(task, self.config, deletion=True))

    # ------------------------------------------------------------------ jobs

    async def submit_jobs(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request)
        project = self.state.project(task.project_id)
        body = await _body(request)
        if not isinstance(body, list) or not body:
            raise bad_request(
                "VALIDATION_ERROR",
                "Invalid job submit request",
                "The body must be a non-empty JSON array of job submit requests",
            )
        submissions: list[_Submit] = []
        problems: list[str] = []
        for index, item in enumerate(body):
            try:
                submissions.append(_Submit.model_validate(item))
            except ValidationError as exc:
                problems += _problems(exc, f"[{index}]")
        if problems:
            raise bad_request("VALIDATION_ERROR", "Invalid job submit request", "; ".join(problems))
        if task.lifecycle != LifecycleStatus.ACTIVE:
            raise bad_request(
                "INVALID_TASK_STATE",
                f"Task {task.task_id} is {task.lifecycle}; jobs can only be submitted to "
                "ACTIVE tasks",
            )
        for submission in submissions:
            image = submission.htc_job_definition.image_name
            if self.state.image_status(project, image) != "READY":
                message = (
                    f"Image {image} is unavailable. Please check the image name. If the image "
                    "was pushed recently, try again at a later time"
                )
                raise bad_request("IMAGE_UNAVAILABLE", message)
            if submission.regions:
                self.state.check_regions(
                    [str(r) for r in submission.regions], project.regions, "Region"
                )
        group = request.query_params.get("group") or self.config.default_group
        received = now()
        response = []
        created = []
        for submission in submissions:
            parent_id = str(uuid.uuid4())
            batch_size = submission.batch_size or 1
            region = str(submission.regions[0]) if submission.regions else project.regions[0]
            retry = submission.retry_strategy
            jobs = self.state.add_jobs(
                task,
                parent_id=parent_id,
                batch_size=batch_size,
                group=group,
                definition=submission.htc_job_definition,
                job_name=submission.job_name,
                region=region,
                max_retries=(retry.max_retries or 0) if retry is not None else 0,
                received=received,
            )
            created += jobs
            echo = submission.model_dump(mode="json", by_alias=True, exclude_unset=True)
            echo.pop("regions", None)  # write-only
            echo.update(
                {
                    "batchSize": batch_size,
                    "parentJobId": parent_id,
                    "group": group,
                    "rescaleTimeReceived": received,
                    "projectId": task.project_id,
                    "taskId": task.task_id,
                    "workspaceId": self.config.workspace_id,
                    "createdBy": self.config.user_id,
                    "jobDefinitionName": f"htc-{parent_id}",
                }
            )
            response.append(SubmittedJob.model_validate(echo).to_api())
        self.runner.enqueue(created)
        return _json(response)

    async def cancel_jobs(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request)
        group = request.query_params.get("group")
        jobs = [
            job
            for job in self.state.task_job_records(task.task_id)
            if group is None or job.group == group
        ]
        self.runner.cancel(jobs)
        return Response(status_code=200)

    async def list_jobs(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request, request_error=True)
        status = _choice(request, "status", _STATUSES, None)
        view = _choice(request, "viewType", (str(v) for v in ViewType), str(ViewType.FULL))
        group = request.query_params.get("group") or None
        wanted = set(request.query_params.getlist("jobId")) or None
        page = page_request(request, f"jobs:{task.task_id}", maximum=self.config.max_page_size)
        jobs = self.state.jobs

        def keep(job_id: str) -> bool:
            if wanted is not None and job_id not in wanted:
                return False
            job = jobs[job_id]
            if group is not None and job.group != group:
                return False
            return status is None or job.visible.status == status

        order = self.state.task_jobs.get(task.task_id, [])
        chosen, link = paginate(request, order, page, keep=keep)
        full = view == ViewType.FULL
        return _json(page_body([job_view(jobs[jid], full=full) for jid in chosen], link))

    async def get_job(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request, request_error=True)
        return _json(job_view(self.state.job(task, request.path_params["jobId"])))

    async def job_events(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request, request_error=True)
        job = self.state.job(task, request.path_params["jobId"])
        page = page_request(request, f"events:{job.job_id}", maximum=self.config.max_page_size)
        events = self.state.events.get(job.job_id, [])[: job.visible.events]
        chosen, link = paginate(request, events, page)
        return _json(page_body(chosen, link))

    async def job_logs(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request, request_error=True)
        job = self.state.job(task, request.path_params["jobId"])
        sort = _choice(request, "sort", ("asc", "desc"), "desc")
        kind = f"logs:{job.job_id}:{sort}"
        page = page_request(request, kind, maximum=min(10000, self.config.max_page_size))
        lines = self.state.logs.get(job.job_id, [])
        total = len(lines)
        after = page.cursor.after
        if sort == "asc":
            start = after + 1
            end = min(total, start + page.size)
            positions = range(start, end)
            following = Cursor(kind, end - 1) if end < total else None
        else:
            upper = total if after < 0 else min(after, total)
            lower = max(0, upper - page.size)
            positions = range(upper - 1, lower - 1, -1)
            following = Cursor(kind, lower) if lower > 0 else None
        if positions and self.rng.random() < self.config.log_empty_page_probability:
            # The log store is eventually consistent: an empty page that still has a next.
            return _json({"items": [], "next": next_url(request, page.cursor)})
        items = [log_view(lines[i]) for i in positions]
        link = next_url(request, following) if following is not None else None
        return _json(page_body(items, link))

    async def summary(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request)
        counts = status_counts(self.state.task_job_records(task.task_id))
        body = JobStatusSummary.model_validate({"group": None, "job_statuses": counts})
        return _json(body.to_api())

    async def group_summaries(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request)
        wanted = set(request.query_params.getlist("group")) or None
        page = page_request(request, f"groups:{task.task_id}", maximum=self.config.max_page_size)
        groups = list(self.state.task_groups.get(task.task_id, {}))
        chosen, link = paginate(request, groups, page, keep=lambda g: wanted is None or g in wanted)
        items = []
        for group in chosen:
            jobs = (j for j in self.state.task_job_records(task.task_id) if j.group == group)
            summary = JobStatusSummary.model_validate(
                {"group": group, "job_statuses": status_counts(jobs)}
            )
            items.append(summary.to_api())
        return _json(page_body(items, link))

    async def groups(self, request: Request) -> Response:
        self.bearer(request)
        task = self._task(request)
        page = page_request(
            request, f"group-names:{task.task_id}", maximum=self.config.max_page_size
        )
        groups = list(self.state.task_groups.get(task.task_id, {}))
        chosen, _ = paginate(request, groups, page)
        return _json(chosen)


def _in(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    if exc.body is None:
        return Response(status_code=exc.status, headers=exc.headers)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        body = {"error": "not_found", "errorDescription": f"No endpoint {request.url.path}"}
    elif exc.status_code == 405:
        body = {
            "error": "method_not_allowed",
            "errorDescription": f"{request.method} is not supported by {request.url.path}",
        }
    else:
        body = {"error": "http_error", "errorDescription": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
