"""The cost meter: hand-computed projections, the synthesized app, the meter after a laptop sleep."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from ecomctl.aws import cost, meter, prices
from ecomctl.state import WindowState


def _template() -> dict:
    return {"Resources": {
        "Search": {"Type": "AWS::OpenSearchService::Domain", "Properties": {
            "ClusterConfig": {"InstanceType": "r6g.large.search", "InstanceCount": 2, "DedicatedMasterEnabled": True,
                              "DedicatedMasterType": "m6g.large.search", "DedicatedMasterCount": 3},
            "EBSOptions": {"EBSEnabled": True, "VolumeSize": 100, "VolumeType": "gp3"}}},
        "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 2}},
        "A1": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
        "A2": {"Type": "AWS::CloudWatch::Alarm", "Properties": {}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
        "Dyn": {"Type": "AWS::OpenSearchService::Domain", "Properties": {
            "ClusterConfig": {"InstanceType": {"Ref": "SomeParameter"}}}},
    }}


def test_projection_matches_a_hand_computation():
    p = cost.project(_template(), hours=3)
    # 2 x r6g.large ($0.167/h) + 3 x m6g.large masters ($0.128/h) + 2 nodes x 100 GB gp3 ($0.122/GB-month / 730 h)
    search = 2 * 0.167 + 3 * 0.128 + 2 * 100 * 0.122 / 730
    kinesis = 2 * 0.015
    alarms = 2 * 0.10 / 730
    assert p.usd_per_hour == pytest.approx(search + kinesis + alarms)
    assert p.usd_total == pytest.approx(3 * (search + kinesis + alarms))
    assert p.hourly[0].type == "AWS::OpenSearchService::Domain"  # the dominant line first
    assert [u.type for u in p.usage] == ["AWS::Lambda::Function"]
    assert p.free == {"AWS::IAM::Role": 1}
    # Unknown types and non-literal sizes are unpriced, never $0.
    assert set(p.unpriced) == {"Nat", "Dyn"}
    assert "not in the price table" in p.unpriced["Nat"] and "not a literal" in p.unpriced["Dyn"]
    assert p.to_json()["price_source"] == prices.SOURCE


def test_provisioned_dynamodb_is_a_standing_charge_on_demand_is_usage():
    provisioned = {"Type": "AWS::DynamoDB::Table", "Properties": {
        "BillingMode": "PROVISIONED", "ProvisionedThroughput": {"ReadCapacityUnits": 10, "WriteCapacityUnits": 5}}}
    on_demand = {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST"}}
    p = cost.project({"Resources": {"P": provisioned, "O": on_demand}}, hours=1)
    assert p.usd_per_hour == pytest.approx(10 * 0.00013 + 5 * 0.00065)
    assert [u.count for u in p.usage] == [2]


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    """The app's real templates, with and without OpenSearch (synthesized once for the module)."""
    from ecomctl.synth import synth

    base = tmp_path_factory.mktemp("asm")
    out = {}
    for with_os in (False, True):
        result = synth(stage="dev", out=base / str(with_os), with_opensearch=with_os)
        out[with_os] = json.loads((result.out / f"{result.stack}.template.json").read_text())
    return out


def test_the_synthesized_app_against_a_hand_count(synthesized):
    for with_os, template in synthesized.items():
        resources = list(template["Resources"].values())
        kinds = [r["Type"] for r in resources]
        count = kinds.count
        shards = sum(r["Properties"].get("ShardCount", 1) for r in resources if r["Type"] == "AWS::Kinesis::Stream")
        expected = shards * 0.015 + count("AWS::CloudWatch::Alarm") * 0.10 / 730 \
            + count("AWS::CloudWatch::Dashboard") * 3.0 / 730 + count("AWS::SecretsManager::Secret") * 0.40 / 730
        if with_os:
            [domain] = [r["Properties"] for r in resources if r["Type"] == "AWS::OpenSearchService::Domain"]
            nodes = domain["ClusterConfig"]["InstanceCount"]
            kind = domain["ClusterConfig"]["InstanceType"]
            ebs = domain["EBSOptions"]
            expected += nodes * prices.OPENSEARCH_INSTANCE_HOUR[kind] \
                + nodes * ebs["VolumeSize"] * prices.OPENSEARCH_EBS_GB_MONTH[ebs["VolumeType"]] / 730
        p = cost.project(template, hours=3)
        assert p.usd_per_hour == pytest.approx(expected), with_os
        assert p.unpriced == {}, p.unpriced  # every type of the app is classified
    with_search = cost.project(synthesized[True], 3)
    assert with_search.hourly[0].type == "AWS::OpenSearchService::Domain"  # OpenSearch dominates
    assert with_search.usd_per_hour > 3 * cost.project(synthesized[False], 3).usd_per_hour


def test_the_meter_after_a_laptop_sleep_counts_from_the_stacks_creation():
    created = datetime(2030, 1, 1, 12, tzinfo=UTC)
    window = WindowState(target="aws", stage="dev", deadline="2030-01-01T15:00:00Z",
                         started_at="2030-01-01T11:58:00Z", ttl_s=3 * 3600,
                         part={"usd_per_hour": 0.6, "stack_created_at": created.isoformat()})
    # The laptop slept for 2 h: the figure comes from the clock, nothing had to tick meanwhile.
    here, on_aws = meter.so_far(window, created + timedelta(hours=2, minutes=30)) or (None, None)
    assert here == on_aws == pytest.approx(1.5)
    local = WindowState(target="local", stage="dev", deadline="2030-01-01T15:00:00Z",
                        started_at=created.isoformat(), ttl_s=3 * 3600, part={"usd_per_hour": 0.6})
    assert meter.so_far(local, created + timedelta(hours=1)) == (0.0, pytest.approx(0.6))
    assert cost.so_far(1.0, created, created - timedelta(hours=1)) == 0.0  # a clock behind the start: never negative
