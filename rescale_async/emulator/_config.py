"""The emulator's settings: who the caller is, what exists at start, how jobs run, how it pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal, get_args

from .platform._config import PlatformConfig

__all__ = ["DEFAULT_IMAGES", "JOB_ORDERS", "RUN_MODES", "EmulatorConfig", "JobOrder", "RunMode"]

JobOrder = Literal["created", "shuffled", "reversed"]
"""Orders a task's jobs can be listed in (``EmulatorConfig.job_order``)."""
JOB_ORDERS: tuple[JobOrder, ...] = get_args(JobOrder)

RunMode = Literal["process", "simulated"]
"""How jobs run (``EmulatorConfig.run_mode``): host processes, or simulated on the clock."""
RUN_MODES: tuple[RunMode, ...] = get_args(RunMode)

DEFAULT_IMAGES: Mapping[str, float] = MappingProxyType(
    {"hello-world:latest": 0.0, "python:3.11": 0.0, "emulator/job:latest": 0.0}
)
"""Images every project starts with, all READY (name -> seconds they stay PENDING)."""


@dataclass(frozen=True, kw_only=True)
class EmulatorConfig:
    """How an ``Emulator`` behaves. Every field has a default; override what a test needs:

    Emulator(EmulatorConfig(refresh_interval=0.05, max_workers=2))
    Emulator(refresh_interval=0.05, max_workers=2)  # the same, as keyword overrides
    """

    # --- identity -----------------------------------------------------------------------------
    api_keys: tuple[str, ...] = ()
    """API keys accepted by ``GET /auth/token`` (``Authorization: Token <key>``). When empty,
    one random key is made (and kept in the database, when there is one)."""
    refresh_tokens: tuple[str, ...] = ()
    """Extra refresh tokens (``Authorization: Refresh <token>``) for the configured user; every
    job also gets its own in ``RESCALE_HTC_REFRESH_TOKEN``."""
    token_lifetime: float = 21600.0
    """Seconds a bearer token lives (the service's is 6 h). Faults can change it at runtime."""
    user_id: str = "emuUsr"
    user_email: str = "emulator@example.com"
    user_full_name: str = "Emulator User"
    organization_code: str = "emulator-org"
    workspace_id: str = "04-emulator"
    workspace_name: str = "Emulator Workspace"
    oauth_client_id: str = "emulator-client"
    """``POST /oauth2/token`` accepts this client id with any configured API key as secret."""

    # --- what exists at start -----------------------------------------------------------------
    project_name: str = "emulator-project"
    project_description: str = "Default project of the Rescale HTC emulator"
    project_id: str | None = None
    """The seeded project's id; random when None."""
    regions: tuple[str, ...] = ("AWS_US_EAST_2",)
    """The workspace's regions; new projects get all of them unless they ask for fewer."""
    images: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_IMAGES))
    """Container images every project has: name (``repo[:tag]``) -> seconds it stays PENDING
    after the project is created (0: READY at once). Images are labels: commands run on the
    host, there is no container runtime."""
    registry_host: str = "000000000000.dkr.ecr.us-east-2.amazonaws.com"
    """Host of the (fictitious) container registry in each project's ``containerRegistry``."""
    registry_address: str | None = None
    """``host:port`` of a real OCI registry standing in for the project's ECR (e.g. Debian's
    ``docker-registry``, see ``local_registry``). Then ``containerRegistry`` names it
    (``<address>/rescale/<project id>/``), the registry token is ``registry_password``, and
    an image there counts once the emulator has seen it (asked for its status, or listed):
    PENDING for ``registry_pending`` seconds, then READY. None: images are labels only."""
    registry_password: str = field(default="", repr=False)
    """The password (user ``AWS``) of ``registry_address``: every project's registry token."""
    registry_pending: float = 0.0
    """Seconds an image pushed to ``registry_address`` stays PENDING after the emulator first
    sees it (the service's replication), so that waiting for READY is exercised."""
    storage_endpoint: str | None = None
    """URL of a real S3 API standing in for the projects' storage: moto behind the storage
    gate (``emulator.storage.storage_server()``, or ``--with-storage``). Then storage tokens
    carry credentials for it (``AWS_ENDPOINT_URL`` names it), one bucket per region is made
    at start, and the gate refuses expired tokens. None: fictitious credentials."""
    storage_secret: str | None = field(default=None, repr=False)
    """The secret shared with the gate at ``storage_endpoint`` (signs the session tokens)."""
    storage_token_lifetime: float = 3600.0
    """Seconds storage credentials live (the service's are short-lived STS credentials)."""
    default_group: str = "default"
    """The group of jobs submitted without ``?group=``."""
    workspace_vcpu_limit: int = 10000
    """vCPUs all running jobs of the workspace may use together."""

    # --- job execution ------------------------------------------------------------------------
    refresh_interval: float = 30.0
    """Seconds between refreshes of what the API shows of jobs (status, events): like the
    service, the API serves a snapshot; tests use e.g. 0.05."""
    max_workers: int = 8
    """Job processes that may run at once; further admitted jobs wait in RUNNABLE."""
    jobs_root: Path | None = None
    """Where job working directories go. When None: ``<db stem>-jobs`` next to the database
    (kept), or without a database a temporary directory removed at exit."""
    exec_timeout_scale: float = 1.0
    """Multiplies ``execTimeoutSeconds`` (at least 60 by validation): 0.01 makes a 60 s
    timeout fire after 0.6 s."""
    startup_delay: float = 0.0
    """Seconds a job spends in STARTING before its process is spawned."""
    kill_grace: float = 2.0
    """Seconds between SIGTERM and SIGKILL when a running job is cancelled."""
    inherit_env: tuple[str, ...] = (
        "PATH",
        "LANG",
        "LC_ALL",
        "LC_CTYPE",
        "TZ",
        "SYSTEMROOT",
        "COMSPEC",
        "PATHEXT",
        "WINDIR",
    )
    """Host environment variables a job inherits (everything else comes from the job)."""
    run_mode: RunMode = "process"
    """"process": a job's commands run as host processes. "simulated": no process, no working
    directory: each attempt stays RUNNING for a random ``simulated_duration`` on the emulator's
    clock, then fails with probability ``simulated_failure_rate`` (else succeeds), drawn from
    ``seed``; the statuses, events, retries, limits and cancellation are the same. Lets 100,000
    jobs run in minutes (raise ``max_workers``: it bounds simulated jobs running at once too)."""
    simulated_duration: tuple[float, float] = (0.0, 0.0)
    """Seconds a simulated attempt runs: uniform between the two bounds."""
    simulated_failure_rate: float = 0.0
    """Chance a simulated attempt fails (ErrorNonZeroContainerExitCode, exit code 1)."""

    # --- API behaviour ------------------------------------------------------------------------
    max_page_size: int = 10000
    """Largest ``pageSize`` accepted (logs document 10000); larger -> 400."""
    log_empty_page_probability: float = 0.0
    """Chance that a log page which would hold lines comes back empty but with ``next``, as the
    service's eventually consistent log store does."""
    job_order: JobOrder = "created"
    """The order ``GET .../tasks/{taskId}/jobs`` lists a task's jobs in. The real service
    promises no order of job listings; "shuffled" lists a task's jobs in a fixed random order
    per task, stable across pages so paging never skips or repeats, "reversed" newest first."""
    seed: int | None = None
    """Seed of the emulator's random choices (faults, empty pages); None: unpredictable."""
    base_url: str = "http://htc-emulator/api/v1"
    """The in-process base URL (served mode uses the real address). The platform API's root
    is on the same host: ``/api/v2``."""

    # --- the platform API (/api/v2) -----------------------------------------------------------
    platform: PlatformConfig = field(default_factory=PlatformConfig)
    """How the platform API v2 behaves (job status pace, walltime scale, rate-limit scopes,
    ranges); its jobs share ``jobs_root``, ``inherit_env`` and ``kill_grace``."""

    # --- persistence --------------------------------------------------------------------------
    db_path: Path | None = None
    """SQLite file holding all state; None keeps everything in memory. After a restart, jobs
    that were waiting run; jobs that were running lost their process, as a job loses its
    instance: they are retried if their retry strategy allows, else they FAIL with
    ErrorInstanceTermination."""
    persist_interval: float = 0.2
    """Seconds between writes of changed state to the database."""

    def __post_init__(self) -> None:
        for name in ("db_path", "jobs_root"):  # accept str paths too
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        if self.max_workers < 1:
            raise ValueError(f"max_workers must be >= 1, got {self.max_workers}")
        if self.refresh_interval <= 0:
            raise ValueError(f"refresh_interval must be > 0, got {self.refresh_interval}")
        if self.token_lifetime <= 0:
            raise ValueError(f"token_lifetime must be > 0, got {self.token_lifetime}")
        if not 0.0 <= self.log_empty_page_probability < 1.0:
            raise ValueError(
                "log_empty_page_probability must be in [0, 1), got "
                f"{self.log_empty_page_probability}"
            )
        if self.exec_timeout_scale <= 0:
            raise ValueError(f"exec_timeout_scale must be > 0, got {self.exec_timeout_scale}")
        if self.job_order not in JOB_ORDERS:
            raise ValueError(
                f"job_order must be one of {', '.join(JOB_ORDERS)}, got {self.job_order!r}"
            )
        if not self.regions:
            raise ValueError("regions must name at least one region")
        if self.registry_pending < 0:
            raise ValueError(f"registry_pending must be >= 0, got {self.registry_pending}")
        if self.storage_token_lifetime <= 0:
            raise ValueError(
                f"storage_token_lifetime must be > 0, got {self.storage_token_lifetime}"
            )
        if self.storage_endpoint is not None and not self.storage_secret:
            raise ValueError("storage_endpoint needs storage_secret, the gate's shared secret")
        self._check_simulation()
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {self.base_url!r}")

    def _check_simulation(self) -> None:
        """Clear errors for the simulated run mode's settings."""
        if self.run_mode not in RUN_MODES:
            raise ValueError(
                f"run_mode must be one of {', '.join(RUN_MODES)}, got {self.run_mode!r}"
            )
        low, high = self.simulated_duration
        if not 0.0 <= low <= high:
            raise ValueError(
                "simulated_duration must be (min, max) seconds with 0 <= min <= max, got "
                f"{self.simulated_duration!r}"
            )
        if not 0.0 <= self.simulated_failure_rate <= 1.0:
            raise ValueError(
                f"simulated_failure_rate must be in [0, 1], got {self.simulated_failure_rate}"
            )
