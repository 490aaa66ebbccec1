"""UpdateItem's cost in moto, with every patch and without the ones named (prints its figures).

    python bench/bench_update_item.py
    python bench/bench_update_item.py --without dynamodb-update-structure-checks-once --rounds 6

The order store's own transition (a conditional SET with list_append on the history and
ReturnValues=ALL_OLD) on ``--items`` orders, six transitions each, in process through boto3
as the platform's handlers call it. The two variants alternate so the machine's drift
falls on both; compare within one run. CPU time of this process per call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import boto3
from moto import mock_aws

from ecomctl.local import moto_patches

DEFAULT_WITHOUT = "dynamodb-update-copy-on-write,dynamodb-update-structure-checks-once"
ORDER = {
    "status": {"S": "PENDING"},
    "items": {"L": [{"M": {"sku": {"S": "SKU-1"}, "quantity": {"N": "2"}, "price": {"N": "9.5"}}}] * 2},
    "history": {"L": [{"M": {"status": {"S": "PENDING"}, "at": {"S": "2026-12-04T10:00:00.000Z"}}}]},
}


def per_update_us(items: int, steps: int = 6) -> float:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        ddb = session.client("dynamodb")
        ddb.create_table(TableName="orders", KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        for i in range(items):
            ddb.put_item(TableName="orders", Item={"orderId": {"S": f"ord-{i}"}, **ORDER})
        started = time.process_time()
        for step in range(steps):
            status = {"S": f"STEP{step}"}
            for i in range(items):
                ddb.update_item(
                    TableName="orders", Key={"orderId": {"S": f"ord-{i}"}}, ReturnValues="ALL_OLD",
                    UpdateExpression="SET #s = :s, history = list_append(history, :h), updatedAt = :t",
                    ConditionExpression="attribute_exists(orderId) AND #s <> :s",
                    ExpressionAttributeNames={"#s": "status"},
                    ExpressionAttributeValues={":s": status, ":t": {"S": "now"},
                                               ":h": {"L": [{"M": {"status": status, "at": {"S": "now"}}}]}})
        return (time.process_time() - started) / (steps * items) * 1e6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--without", default=DEFAULT_WITHOUT, help="patch names left out in the second variant")
    p.add_argument("--items", type=int, default=300)
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args()
    left_out = {n.strip() for n in args.without.split(",") if n.strip()}
    unknown = left_out - {patch.name for patch in moto_patches.PATCHES}
    if unknown:
        print(f"error: no such patch: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    variants = {"every patch": list(moto_patches.PATCHES),
                f"without {', '.join(sorted(left_out))}": [p for p in moto_patches.PATCHES if p.name not in left_out]}
    figures: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, patches in variants.items():
            moto_patches.apply(patches)
            try:
                figures[name].append(per_update_us(args.items))
            finally:
                moto_patches.revert()
    for name, values in figures.items():
        print(f"{name}: median {statistics.median(values):.0f} us per UpdateItem "
              f"(rounds: {', '.join(f'{v:.0f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
