"""Benchmark the AWS window on a moto server: `up --target aws` to armed and to deployed,
`down` to verified empty, and the `cost` projection.

The same code the operator runs (in process, through the CLI's Typer app): preflight, the
reaper function and both schedules, the pinned cdk CLI deploying the synthesized assembly
(moto-compatible copy), the reaper, the inventory. Prints the figures; nothing is asserted.

    python bench/bench_aws_window.py [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _moto() -> tuple[Any, str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{server.get_host_and_port()[1]}"


def _reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).close()


def _bootstrap(url: str) -> None:
    from ecomctl.aws import cdk

    env = {**os.environ, "AWS_ENDPOINT_URL": url.replace("127.0.0.1", "localhost"), "CDK_DISABLE_VERSION_CHECK": "1"}
    done = subprocess.run([str(cdk.ensure()), "bootstrap", "aws://123456789012/us-east-1", "--ci", "--no-notices"],
                          env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit(f"cdk bootstrap failed: {done.stderr[-500:]}")


def _one(url: str, home: Path) -> dict[str, float]:
    from typer.testing import CliRunner

    from ecomctl.aws import deploy, inventory, teardown
    from ecomctl.cli import app
    from ecomctl.targets.base import AwsAccess

    marks: dict[str, float] = {}
    real_arm, real_deploy = teardown.arm, deploy.deploy

    def arm(*a: Any, **k: Any) -> Any:
        found = real_arm(*a, **k)
        marks["armed"] = time.perf_counter()
        return found

    def deployed(*a: Any, **k: Any) -> Any:
        found = real_deploy(*a, **k)
        marks["deployed"] = time.perf_counter()
        return found

    teardown.arm, deploy.deploy = arm, deployed  # type: ignore[assignment]
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": url, "ECOMCTL_HOME": str(home), "NO_COLOR": "1"}
    os.environ.update(env)
    try:
        t0 = time.perf_counter()
        up = CliRunner().invoke(app, ["up", "--target", "aws", "--ttl", "1h", "--stage", "bench", "--yes", "--json"],
                                env=env)
        if up.exit_code:
            raise SystemExit(f"up failed: {up.stderr[-800:]}")
        t1 = time.perf_counter()
        down = CliRunner().invoke(app, ["down", "--stage", "bench", "--yes", "--json"], env=env)
        t2 = time.perf_counter()
        if down.exit_code:
            raise SystemExit(f"down failed: {down.stderr[-800:]}")
        import boto3

        access = AwsAccess(boto3.Session(), url, "us-east-1")
        left = inventory.leftovers(access, "bench", "ecom-bench")
        if left:
            raise SystemExit(f"down left {left}")
        t3 = time.perf_counter()
        c0 = time.perf_counter()
        cost = CliRunner().invoke(app, ["cost", "--ttl", "3h", "--json"], env=env)
        c1 = time.perf_counter()
        projected = json.loads(cost.stdout)
    finally:
        teardown.arm, deploy.deploy = real_arm, real_deploy  # type: ignore[assignment]
    return {"armed": marks["armed"] - t0, "deployed": marks["deployed"] - t0, "up": t1 - t0,
            "down_verified": t3 - t1, "down": t2 - t1, "cost": c1 - c0,
            "usd": float(projected.get("usd_total") or projected.get("total_usd") or 0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                       "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"})
    server, url = _moto()
    try:
        runs = []
        for _ in range(args.runs):
            _reset(url)
            _bootstrap(url)
            with tempfile.TemporaryDirectory(prefix="bench-aws-") as home:
                runs.append(_one(url, Path(home)))
    finally:
        server.stop()
    for key, label in (("armed", "up -> armed (preflight, synth/projection, reaper function, schedules)"),
                       ("deployed", "up -> deployed (cdk deploy, CREATE_COMPLETE)"),
                       ("down_verified", "down -> verified empty (reaper + sweep + inventory)"),
                       ("cost", "cost --ttl 3h (projection of the synthesized app)")):
        values = [r[key] for r in runs]
        print(f"{label:<75} median {statistics.median(values):6.1f} s  (runs: "
              f"{', '.join(f'{v:.1f}' for v in values)})")
    print(f"projected cost of a 3 h window: ${runs[-1]['usd']:.2f}")


if __name__ == "__main__":
    main()
