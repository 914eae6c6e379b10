"""``python -m rescale_async.emulator``: serve the emulator (HTC API v1 and platform API v2)
over HTTP until Ctrl-C.
"""
# ruff: noqa: T201 - a command line program: printing is its job

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from ._config import JOB_ORDERS, RUN_MODES, EmulatorConfig
from ._emulator import Emulator
from ._faults import Counters, FaultRule
from ._local_registry import local_registry, registry_missing
from ._server import ServedEmulator, serve
from .platform._config import DOCUMENTED_RATE_LIMITS, SCOPES, PlatformConfig, ScopeLimit
from .storage import moto_installed, serving_storage


def _image(text: str) -> tuple[str, float]:
    name, _, pending = text.partition("=")
    try:
        return name, float(pending) if pending else 0.0
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected NAME or NAME=PENDING_SECONDS, got {text!r}"
        ) from None


def _duration_range(text: str) -> tuple[float, float]:
    low, _, high = text.partition(":")
    try:
        bounds = (float(low), float(high or low))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected SECONDS or MIN:MAX seconds, got {text!r}"
        ) from None
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError(f"expected 0 <= MIN <= MAX, got {text!r}")
    return bounds


def _positive(kind: type[float] | type[int], *, zero: bool = False) -> Callable[[str], Any]:
    def convert(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(
                f"expected a number {'>= 0' if zero else '> 0'}, got {text!r}"
            )
        return value

    return convert


def _scope_limit(text: str) -> tuple[str, ScopeLimit]:
    scope, _, rest = text.partition("=")
    rate, _, burst = rest.partition(":")
    if scope not in SCOPES:
        raise argparse.ArgumentTypeError(
            f"expected SCOPE=PER_SECOND[:BURST] with SCOPE one of {', '.join(SCOPES)}, got {text!r}"
        )
    try:
        return scope, ScopeLimit(float(rate), int(burst) if burst else 1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def _platform_arguments(parser: argparse.ArgumentParser) -> None:
    """The platform API v2's options."""
    group = parser.add_argument_group("platform API v2 (/api/v2)")
    group.add_argument(
        "--platform-status-delay",
        type=_positive(float, zero=True),
        default=PlatformConfig.status_delay,
        metavar="SECONDS",
        help="seconds between one status of a platform job (or its cluster) and the next",
    )
    group.add_argument(
        "--platform-cluster-stop-delay",
        type=_positive(float, zero=True),
        metavar="SECONDS",
        help="seconds between a platform cluster's stop statuses (default: the status delay)",
    )
    group.add_argument(
        "--platform-walltime-hour",
        type=_positive(float),
        default=PlatformConfig.walltime_hour,
        metavar="SECONDS",
        help="seconds one hour of a platform job's walltime lasts (default 3600)",
    )
    group.add_argument(
        "--platform-rate-limits",
        choices=("off", "documented"),
        default="off",
        help="the scopes' rate limits: none, or Rescale's documented ones (job-submission "
        "1000/h, jobs-usage 25/s, user 2/s, with bursts)",
    )
    group.add_argument(
        "--platform-rate-limit",
        action="append",
        type=_scope_limit,
        default=[],
        metavar="SCOPE=PER_SECOND[:BURST]",
        help="one scope's limit (over it: 429 with Retry-After); wins over --platform-rate-limits",
    )
    group.add_argument(
        "--platform-ignore-range",
        action="store_true",
        help="answer file downloads whole (200) even when a Range is asked for",
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rescale_async.emulator",
        description="Serve a local emulator of the Rescale HTC API (/api/v1) and platform API "
        "(/api/v2). Jobs run as host processes.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (jobs run commands on this host: whoever has the API key "
        "can run programs here, so think twice before listening beyond 127.0.0.1)",
    )
    parser.add_argument("--port", type=int, default=8700, help="port (0: any free port)")
    parser.add_argument("--db", type=Path, help="SQLite file keeping state across restarts")
    parser.add_argument(
        "--refresh-interval", type=float, default=30.0, help="seconds between job status refreshes"
    )
    parser.add_argument("--workers", type=int, default=8, help="job processes run at once")
    parser.add_argument("--jobs-root", type=Path, help="where job working directories go")
    parser.add_argument("--api-key", action="append", default=[], help="accepted API key")
    parser.add_argument("--project-name", default="emulator-project", help="the seeded project")
    parser.add_argument(
        "--image",
        action="append",
        type=_image,
        default=[],
        metavar="NAME[=PENDING_SECONDS]",
        help="an image every project has (default: a few READY ones)",
    )
    parser.add_argument(
        "--token-lifetime", type=float, default=21600.0, help="bearer token lifetime, seconds"
    )
    parser.add_argument(
        "--log-empty-pages",
        type=float,
        default=0.0,
        metavar="P",
        help="probability of an empty log page that still has a next link",
    )
    parser.add_argument(
        "--max-page-size",
        type=_positive(int),
        default=EmulatorConfig.max_page_size,
        metavar="N",
        help="largest pageSize accepted (larger: 400)",
    )
    parser.add_argument(
        "--job-order",
        choices=JOB_ORDERS,
        default=EmulatorConfig.job_order,
        help="order job listings come in (the real service promises none): creation order, "
        "a fixed random order per task, or newest first",
    )
    parser.add_argument(
        "--latency",
        type=_positive(float, zero=True),
        default=0.0,
        metavar="SECONDS",
        help="added to every request before it is answered (a round trip to a cloud API)",
    )
    parser.add_argument(
        "--rate-limit",
        type=_positive(float),
        metavar="PER_SECOND",
        help="server-side limit on all requests together; over it: 429 with Retry-After",
    )
    parser.add_argument(
        "--rate-burst",
        type=_positive(int),
        default=1,
        metavar="N",
        help="requests the rate limit lets through back to back (default 1)",
    )
    parser.add_argument(
        "--bandwidth",
        type=_positive(float),
        metavar="BYTES_PER_SECOND",
        help="cap on each response body's pace (per connection), e.g. 12500000 for 100 Mbit/s",
    )
    parser.add_argument(
        "--counters-file",
        type=Path,
        metavar="PATH",
        help="write the request counters (per endpoint, per status, faults) as JSON at exit",
    )
    parser.add_argument(
        "--jobs-file",
        type=Path,
        metavar="PATH",
        help="write every job's id, task, status and completion time (as the jobs really are, "
        "not the API's refreshed snapshot) as JSON at exit",
    )
    parser.add_argument(
        "--run-mode",
        choices=RUN_MODES,
        default=EmulatorConfig.run_mode,
        help="how jobs run: host processes, or simulated (no process: a drawn duration and "
        "outcome, so 100,000 jobs finish in minutes)",
    )
    parser.add_argument(
        "--simulated-duration",
        type=_duration_range,
        default=EmulatorConfig.simulated_duration,
        metavar="MIN[:MAX]",
        help="seconds a simulated job runs, uniform between MIN and MAX (default 0)",
    )
    parser.add_argument(
        "--simulated-failure-rate",
        type=float,
        default=EmulatorConfig.simulated_failure_rate,
        metavar="P",
        help="probability a simulated job attempt fails (default 0)",
    )
    _platform_arguments(parser)
    parser.add_argument(
        "--with-registry",
        action="store_true",
        help="run a real container registry (Debian's docker-registry, on loopback) as every "
        "project's containerRegistry, so images can be pushed and jobs run them",
    )
    parser.add_argument(
        "--registry-pending",
        type=_positive(float, zero=True),
        default=EmulatorConfig.registry_pending,
        metavar="SECONDS",
        help="with --with-registry: seconds a pushed image stays PENDING once seen (default 0)",
    )
    parser.add_argument(
        "--with-storage",
        action="store_true",
        help="run a real S3 API (moto, on loopback, behind a gate checking the emulator's "
        "short-lived credentials) as every project's storage, so files can be uploaded and "
        "downloaded with the storage tokens (needs moto[server])",
    )
    parser.add_argument(
        "--storage-token-lifetime",
        type=_positive(float),
        default=EmulatorConfig.storage_token_lifetime,
        metavar="SECONDS",
        help="with --with-storage: seconds storage credentials stay valid (default 3600)",
    )
    parser.add_argument("--seed", type=int, help="seed for the emulator's random choices")
    parser.add_argument("--verbose", "-v", action="store_true", help="log what the emulator does")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> EmulatorConfig:
    fields: dict[str, object] = {
        "refresh_interval": args.refresh_interval,
        "max_workers": args.workers,
        "jobs_root": args.jobs_root,
        "api_keys": tuple(args.api_key),
        "project_name": args.project_name,
        "token_lifetime": args.token_lifetime,
        "log_empty_page_probability": args.log_empty_pages,
        "seed": args.seed,
        "db_path": args.db,
        "max_page_size": args.max_page_size,
        "job_order": args.job_order,
        "run_mode": args.run_mode,
        "simulated_duration": args.simulated_duration,
        "simulated_failure_rate": args.simulated_failure_rate,
        "registry_pending": args.registry_pending,
    }
    if args.image:
        fields["images"] = dict(args.image)
    fields["platform"] = platform_config_from(args)
    return EmulatorConfig(**fields)  # type: ignore[arg-type]


def platform_config_from(args: argparse.Namespace) -> PlatformConfig:
    """The platform API's settings the options ask for."""
    limits = dict(DOCUMENTED_RATE_LIMITS) if args.platform_rate_limits == "documented" else {}
    limits.update(dict(args.platform_rate_limit))
    return PlatformConfig(
        status_delay=args.platform_status_delay,
        cluster_stop_delay=args.platform_cluster_stop_delay,
        walltime_hour=args.platform_walltime_hour,
        rate_limits=limits,
        ignore_range=args.platform_ignore_range,
    )


def fault_rules(args: argparse.Namespace) -> list[FaultRule]:
    """The rules ``--latency``, ``--rate-limit`` and ``--bandwidth`` ask for, applying to every
    request of both APIs.
    """
    rules = []
    if args.latency > 0:
        rules.append(FaultRule(latency=args.latency, name="--latency"))
    if args.bandwidth is not None:
        rules.append(FaultRule(bandwidth=args.bandwidth, name="--bandwidth"))
    if args.rate_limit is not None:
        rules.append(
            FaultRule(rate_limit=args.rate_limit, burst=args.rate_burst, name="--rate-limit")
        )
    return rules


def counters_document(counters: Counters) -> dict[str, Any]:
    """The counters as JSON: totals, and per endpoint, status and fault kind."""
    return {
        "requests_total": sum(counters.requests.values()),
        "requests": dict(sorted(counters.requests.items())),
        "statuses": {str(status): n for status, n in sorted(counters.statuses.items())},
        "responses": {
            f"{endpoint} {status}": n
            for (endpoint, status), n in sorted(counters.responses.items())
        },
        "faults": {
            f"{kind} {endpoint}": n for (kind, endpoint), n in sorted(counters.faults.items())
        },
    }


def jobs_document(emulator: Emulator) -> list[dict[str, Any]]:
    """Every job as it really is at exit: id, task, status, failure code, completion time."""
    return [
        {
            "jobId": job.job_id,
            "taskId": job.task_id,
            "status": job.live.status,
            "failureCode": job.live.failure_code,
            "completedAt": None
            if job.live.completed_at is None
            else job.live.completed_at.isoformat(),
        }
        for job in emulator.state.jobs.values()
    ]


def _ready(args: argparse.Namespace, served: list[ServedEmulator], server: ServedEmulator) -> None:
    # Faults go in before the address is printed, so no client ever sees the server without them.
    for rule in fault_rules(args):
        server.emulator.faults.add(rule)
    served.append(server)
    _announce(server)


def _announce(served: ServedEmulator) -> None:
    emulator = served.emulator
    print(f"Rescale HTC emulator listening on {served.base_url}")
    print(f"Rescale platform API v2 emulator listening on {served.platform_url}")
    print(f"  project: {emulator.config.project_name} ({served.project_id})")
    print(f"  jobs run under: {emulator.jobs_root}")
    if emulator.config.registry_address:
        print(
            f"  container registry: {emulator.config.registry_address} (user AWS, password: "
            "the project's registry token)"
        )
    if emulator.config.storage_endpoint:
        print(
            f"  storage: S3 at {emulator.config.storage_endpoint} (moto; storage tokens carry "
            "AWS_ENDPOINT_URL and credentials for it)"
        )
    print(f"RESCALE_HTC_API_URL={served.base_url}")
    print(f"RESCALE_API_URL={served.platform_url}")
    print(f"RESCALE_API_KEY={served.api_key}")
    print("Press Ctrl-C to stop.", flush=True)


FREEZE_INTERVAL = 5.0
"""Seconds between moving what survived into the collector's permanent generation."""


async def _serve_process(run: Callable[[], Awaitable[None]]) -> None:
    """Run the server in this process, keeping the garbage collector from rescanning the
    state: the records live as long as the process, and a full collection over 100,000 jobs
    stalls the event loop for seconds, after which the requests it reads at once count
    against the rate limit as a burst the clients never sent.
    """
    async with anyio.create_task_group() as group:
        group.start_soon(freeze_survivors, FREEZE_INTERVAL)
        await run()
        group.cancel_scope.cancel()


async def freeze_survivors(interval: float) -> None:
    """Every ``interval`` seconds, collect the young generations (so no young garbage cycle
    is kept) and freeze every object left; later full collections scan only newer ones.
    """
    while True:
        await anyio.sleep(interval)
        gc.collect(1)
        gc.freeze()


async def _with_registry(
    args: argparse.Namespace,
    config: EmulatorConfig,
    run: Callable[[EmulatorConfig], Awaitable[None]],
) -> None:
    """``run(config)``, with a local registry started first when ``--with-registry`` asks."""
    if not args.with_registry:
        await run(config)
        return
    async with local_registry() as registry:
        await run(
            dataclasses.replace(
                config, registry_address=registry.address, registry_password=registry.password
            )
        )


async def _with_storage(
    args: argparse.Namespace,
    run: Callable[[EmulatorConfig], Awaitable[None]],
    config: EmulatorConfig,
) -> None:
    """``run(config)``, with moto's S3 behind the storage gate started first when
    ``--with-storage`` asks.
    """
    if not args.with_storage:
        await run(config)
        return
    async with serving_storage() as storage:
        await run(
            dataclasses.replace(
                config, storage_token_lifetime=args.storage_token_lifetime, **storage.config()
            )
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        config = config_from(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    missing = registry_missing() if args.with_registry else None
    if missing is not None:
        print(f"error: --with-registry: {missing}", file=sys.stderr)
        return 1
    if args.with_storage and not moto_installed():
        print(
            "error: --with-storage needs moto's S3 server: pip install 'moto[server]'",
            file=sys.stderr,
        )
        return 1
    served: list[ServedEmulator] = []
    try:
        anyio.run(
            partial(
                _serve_process,
                partial(
                    _with_registry,
                    args,
                    config,
                    partial(
                        _with_storage,
                        args,
                        partial(
                            serve,
                            host=args.host,
                            port=args.port,
                            ready=partial(_ready, args, served),
                            handle_signals=True,
                        ),
                    ),
                ),
            ),
            backend="asyncio",
        )
    except OSError as exc:
        print(f"error: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if args.counters_file is not None and served:
            document = counters_document(served[0].emulator.counters)
            args.counters_file.write_text(json.dumps(document, indent=2) + "\n")
        if args.jobs_file is not None and served:
            args.jobs_file.write_text(json.dumps(jobs_document(served[0].emulator)) + "\n")
    print("Emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
