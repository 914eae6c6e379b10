"""An external optimizer driving one quasi-persistent cluster: each round changes the
parameters, runs the model on the same cluster over SSH and reads the result back, then picks
the next parameters (a golden-section search). The cluster is started once and stopped when
the block ends, whatever ends it.

Offline, on the emulator in this process (its "cluster" is an SSH server on 127.0.0.1 running
the commands on this machine)::

    python examples/optimization_loop.py [--rounds 12] [--backend trio]

With ``--real KEY`` it runs on Rescale with your credentials and the private key KEY whose
public key is in your Rescale profile: a real, billed cluster.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import anyio
import asyncssh

from rescale_async import Cluster, PlatformClient
from rescale_async.emulator import Emulator
from rescale_async.emulator.platform import PlatformConfig

MODEL = """\
import json, sys
x = float(sys.argv[1])
json.dump({"x": x, "cost": (x - 2.5) ** 2 + 1.0}, open(sys.argv[2], "w"))
"""
"""The "simulation": a cost with its minimum at x = 2.5 (1.0 there)."""

GOLDEN = (math.sqrt(5) - 1) / 2


async def evaluate(cluster: Cluster, x: float, round_number: int) -> float:
    """One round on the cluster: run the model for ``x``, read its result file back."""
    result_file = f"results/round{round_number}.json"
    await cluster.run(f"mkdir -p results && python3 model.py {x!r} {result_file}")
    done = await cluster.run(f"cat {result_file}")
    cost = float(done.stdout.split('"cost": ')[1].rstrip("}\n"))
    print(f"round {round_number}: x={x:.5f} cost={cost:.6f}")
    return cost


async def optimize(cluster: Cluster, workdir: Path, rounds: int) -> tuple[float, float]:
    """Golden-section search over [0, 6], one evaluation per round; the best (x, cost)."""
    model = workdir / "model.py"
    model.write_text(MODEL)
    await cluster.put(model, "model.py")
    low, high = 0.0, 6.0
    a, b = high - GOLDEN * (high - low), low + GOLDEN * (high - low)
    cost_a, cost_b = await evaluate(cluster, a, 1), await evaluate(cluster, b, 2)
    for round_number in range(3, rounds + 1):
        if cost_a < cost_b:
            high, b, cost_b = b, a, cost_a
            a = high - GOLDEN * (high - low)
            cost_a = await evaluate(cluster, a, round_number)
        else:
            low, a, cost_a = a, b, cost_b
            b = low + GOLDEN * (high - low)
            cost_b = await evaluate(cluster, b, round_number)
    back = await cluster.get("results", workdir / "results")
    print(f"fetched {len(back.files)} result files ({back.verified} verified)")
    return (a, cost_a) if cost_a < cost_b else (b, cost_b)


async def run_loop(
    client: PlatformClient,
    key: Path,
    workdir: Path,
    rounds: int,
    *,
    interval: float = 10.0,
    ready_timeout: float = 1800.0,
) -> None:
    started = time.monotonic()
    async with client.clusters.start(
        coretype="granite",
        cores=2,
        walltime=1,
        private_key=key,
        trust_on_first_use=True,
        interval=interval,
        ready_timeout=ready_timeout,
    ) as cluster:
        print(f"cluster of job {cluster.job_id} is up after {time.monotonic() - started:.2f} s")
        x, cost = await optimize(cluster, workdir, rounds)
        print(f"best: x={x:.4f} cost={cost:.6f}")
    print(f"cluster of job {cluster.job_id} stopped")


async def main(*, rounds: int, real_key: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="optimization-") as tmp:
        workdir = Path(tmp)
        if real_key is not None:
            async with PlatformClient() as client:
                await run_loop(client, real_key, workdir, rounds)
            return
        private = asyncssh.generate_private_key("ssh-ed25519")
        key = workdir / "id_ed25519"
        key.write_bytes(private.export_private_key())
        os.chmod(key, 0o600)
        public = private.export_public_key().decode().strip()
        config = PlatformConfig(status_delay=0.02, ssh_public_key=public)
        async with (
            Emulator(platform=config, kill_grace=0.5) as emu,
            emu.platform_client() as client,
        ):
            await run_loop(client, key, workdir, rounds, interval=0.05, ready_timeout=60.0)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=12, help="rounds (model runs), at least 2")
    parser.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    parser.add_argument("--real", type=Path, default=None, metavar="KEY", help="run on Rescale")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse_args()
    anyio.run(lambda: main(rounds=max(2, args.rounds), real_key=args.real), backend=args.backend)
