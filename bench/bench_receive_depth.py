"""Benchmark what one SQS ReceiveMessage costs at queue depths 10 / 1 000 / 10 000, on moto
with and without the local target's patches (flat is the goal).

In process (mock_aws), the patched and unpatched runs in one process so the ratio holds on
a noisy machine. Vanilla moto is O(n^2) in depth on this path, so it is measured only up to
``--vanilla-max`` (default 1 000). Prints the figures; nothing is asserted.

    python bench/bench_receive_depth.py [--receives 20] [--vanilla-max 1000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import boto3
from moto import mock_aws

from ecomctl.local import moto_patches

DEPTHS = (10, 1_000, 10_000)


def _cost_ms(depth: int, receives: int) -> float:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
        url = sqs.create_queue(QueueName="depth")["QueueUrl"]
        for start in range(0, depth, 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(min(10, depth - start))])
        times = []
        for _ in range(receives):
            t0 = time.perf_counter()
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            times.append(time.perf_counter() - t0)
            assert got.get("Messages")
        return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--receives", type=int, default=20)
    parser.add_argument("--vanilla-max", type=int, default=1_000)
    args = parser.parse_args()
    vanilla = {d: _cost_ms(d, max(3, args.receives // 4)) for d in DEPTHS if d <= args.vanilla_max}
    with moto_patches.patched() as report:
        assert report.applied and not report.skipped, report
        patched = {d: _cost_ms(d, args.receives) for d in DEPTHS}
    print(f"{'depth':>7}  {'vanilla moto 5.2.1':>20}  {'patched':>10}")
    for depth in DEPTHS:
        plain = f"{vanilla[depth]:.2f} ms" if depth in vanilla else "not measured"
        print(f"{depth:>7}  {plain:>20}  {patched[depth]:>7.2f} ms")


if __name__ == "__main__":
    main()
