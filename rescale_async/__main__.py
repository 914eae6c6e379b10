"""``python -m rescale_async``: the command line (the demo, the emulator)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m rescale_async`` and the ``rescale-async`` script."""
    parser = argparse.ArgumentParser(prog="rescale-async", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run a batch of real jobs on the embedded emulator")
    args = parser.parse_args(argv)
    if args.command == "demo":
        try:
            from .cli.demo import run_demo  # noqa: PLC0415  (needs the emulator extra)
        except ImportError as exc:
            print(f"rescale-async: {exc}", file=sys.stderr)
            return 2
        return run_demo()
    return 2  # pragma: no cover  (argparse rejects unknown commands)


if __name__ == "__main__":
    sys.exit(main())
