"""``python -m rescale_async.emulator``: serve the HTC emulator over HTTP until Ctrl-C."""
# ruff: noqa: T201 - a command line program: printing is its job

from __future__ import annotations

import argparse
import logging
import sys
from functools import partial
from pathlib import Path

import anyio

from ._config import EmulatorConfig
from ._server import ServedEmulator, serve


def _image(text: str) -> tuple[str, float]:
    name, _, pending = text.partition("=")
    try:
        return name, float(pending) if pending else 0.0
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected NAME or NAME=PENDING_SECONDS, got {text!r}"
        ) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m rescale_async.emulator",
        description="Serve a local emulator of the Rescale HTC API. Jobs run as host processes.",
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
    }
    if args.image:
        fields["images"] = dict(args.image)
    return EmulatorConfig(**fields)  # type: ignore[arg-type]


def _announce(served: ServedEmulator) -> None:
    emulator = served.emulator
    print(f"Rescale HTC emulator listening on {served.base_url}")
    print(f"  project: {emulator.config.project_name} ({served.project_id})")
    print(f"  jobs run under: {emulator.jobs_root}")
    print(f"RESCALE_HTC_API_URL={served.base_url}")
    print(f"RESCALE_API_KEY={served.api_key}")
    print("Press Ctrl-C to stop.", flush=True)


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
    try:
        anyio.run(
            partial(
                serve,
                config,
                host=args.host,
                port=args.port,
                ready=_announce,
                handle_signals=True,
            ),
            backend="asyncio",
        )
    except OSError as exc:
        print(f"error: cannot serve on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    print("Emulator stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
