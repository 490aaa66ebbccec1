"""Benchmark `ecomctl synth`: cold (fresh output dir, cdk-nag on) vs unchanged (cache hit).

Each figure is the wall time of a real `ecomctl synth` process, as a user would run it
(interpreter start and imports included). Prints the figures; nothing is asserted.

    python bench/bench_synth.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(out: Path, *extra: str) -> tuple[float, dict[str, object]]:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    # Not `-m ecomctl.cli`: commands register on the imported module's app, as with the console script.
    cmd = [sys.executable, "-c", "from ecomctl.cli import main; main()", "synth", "--out", str(out), "--json",
           *extra]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"ecomctl synth failed: {proc.stderr.strip().splitlines()[-1:]}")
    return elapsed, json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    cold, cached, inner = [], [], []
    resources = 0
    for _ in range(args.runs):
        tmp = Path(tempfile.mkdtemp(prefix="bench-synth-"))
        try:
            out = tmp / "cdk.out"
            t_cold, first = _run(out)
            t_warm, second = _run(out)
            assert first["cached"] is False and second["cached"] is True
            cold.append(t_cold)
            cached.append(t_warm)
            inner.append(float(first["seconds"]))  # type: ignore[arg-type]
            resources = int(first["resources"])  # type: ignore[call-overload]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"ecomctl synth, stack ecom-dev ({resources} resources), {args.runs} runs, {os.cpu_count()} CPUs")
    print(f"  cold (new output dir, cdk-nag on):  median {statistics.median(cold):.2f} s "
          f"(min {min(cold):.2f}, max {max(cold):.2f}); of which synth itself {statistics.median(inner):.2f} s")
    print(f"  unchanged (content-hash cache hit): median {statistics.median(cached):.2f} s "
          f"(min {min(cached):.2f}, max {max(cached):.2f})")


if __name__ == "__main__":
    main()
