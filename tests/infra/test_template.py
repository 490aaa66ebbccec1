"""Template assertions: each promise of the infra issue, checked on the synthesized template."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from ecomshop.model import Item, OrderRequest
from ecomshop.topology import VISIBILITY_FACTOR, build_topology
from tests.infra.conftest import EXPIRES_AT, resources

pytestmark = pytest.mark.infra
TOPO = build_topology("dev")


@pytest.fixture(scope="module")
def t(template: dict[str, Any]) -> Template:
    return Template.from_json(template)


def _by_name(template: dict[str, Any], rtype: str, key: str) -> dict[str, dict[str, Any]]:
    return {v["Properties"][key]: v for v in resources(template, rtype).values() if key in v["Properties"]}


def _logical_of(template: dict[str, Any], rtype: str, key: str, name: str) -> str:
    return next(k for k, v in resources(template, rtype).items() if v["Properties"].get(key) == name)


# -- queues, DLQs, event sources -------------------------------------------------------------
def test_every_consumed_queue_has_a_redrive_policy_to_its_own_dlq(template: dict[str, Any]) -> None:
    queues = _by_name(template, "AWS::SQS::Queue", "QueueName")
    for q in TOPO.queues:
        assert TOPO.consumer_of(q.logical) is not None
        props = queues[TOPO.name(q.logical)]["Properties"]
        dlq_id = _logical_of(template, "AWS::SQS::Queue", "QueueName", TOPO.name(TOPO.dlq(q.logical)))
        assert props["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]}, "maxReceiveCount": q.max_receive_count}
        consumer = TOPO.consumer_of(q.logical)
        assert consumer is not None
        assert props["VisibilityTimeout"] >= VISIBILITY_FACTOR * consumer.timeout_s


def test_every_queue_is_encrypted_and_refuses_plain_http(template: dict[str, Any]) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    assert len(queues) == 2 * len(TOPO.queues)
    policies = resources(template, "AWS::SQS::QueuePolicy").values()
    for qid, q in queues.items():
        assert q["Properties"]["SqsManagedSseEnabled"] is True
        denies = [s for p in policies if {"Ref": qid} in p["Properties"]["Queues"]
                  for s in p["Properties"]["PolicyDocument"]["Statement"]
                  if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}]
        assert denies, f"queue {qid} has no SSL-only policy"


def test_event_sources_report_batch_item_failures_with_topology_batching(template: dict[str, Any]) -> None:
    mappings = list(resources(template, "AWS::Lambda::EventSourceMapping").values())
    assert len(mappings) == len(TOPO.queues)
    for q in TOPO.queues:
        qid = _logical_of(template, "AWS::SQS::Queue", "QueueName", TOPO.name(q.logical))
        (m,) = [m for m in mappings if m["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [qid, "Arn"]}]
        props = m["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BatchSize"] == q.batch_size
        assert props.get("MaximumBatchingWindowInSeconds", 0) == q.batching_window_s


# -- functions -------------------------------------------------------------------------------
def test_every_function_is_traced_logged_and_sized_from_the_topology(template: dict[str, Any]) -> None:
    functions = _by_name(template, "AWS::Lambda::Function", "FunctionName")
    log_groups = _by_name(template, "AWS::Logs::LogGroup", "LogGroupName")
    for fn in TOPO.functions:
        props = functions[TOPO.name(fn.logical)]["Properties"]
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Runtime"] == "python3.13"
        assert props["Handler"] == fn.handler
        assert props["Timeout"] == fn.timeout_s
        assert props["MemorySize"] == fn.memory_mb
        assert props.get("ReservedConcurrentExecutions") == fn.reserved_concurrency
        assert "AWSLambdaPowertoolsPythonV3-python313-x86_64" in json.dumps(props["Layers"])
        assert set(fn.environment) <= set(props["Environment"]["Variables"])
        assert log_groups[f"/aws/lambda/{TOPO.name(fn.logical)}"]["Properties"]["RetentionInDays"] == 7


def test_the_only_other_function_is_the_cdk_bucket_emptier(template: dict[str, Any]) -> None:
    """Every function is traced except CDK's own auto-delete provider (it has no X-Ray permission)."""
    others = [k for k, v in resources(template, "AWS::Lambda::Function").items()
              if v["Properties"].get("TracingConfig") != {"Mode": "Active"}]
    assert len(others) == 1 and others[0].startswith("CustomS3AutoDeleteObjectsCustomResourceProvider")
    assert len(resources(template, "AWS::Lambda::Function")) == len(TOPO.functions) + 1


def test_function_environment_resolves_references_to_resources(template: dict[str, Any]) -> None:
    functions = _by_name(template, "AWS::Lambda::Function", "FunctionName")
    starter = functions[TOPO.name("saga-starter")]["Properties"]["Environment"]["Variables"]
    sm_id = next(iter(resources(template, "AWS::StepFunctions::StateMachine")))
    assert starter["SAGA_STATE_MACHINE_ARN"] == {"Ref": sm_id}
    shipping = functions[TOPO.name("shipping")]["Properties"]["Environment"]["Variables"]
    dlq_id = _logical_of(template, "AWS::SQS::Queue", "QueueName", TOPO.name("shipping-dlq"))
    assert shipping["SHIPPING_DLQ_URL"] == {"Ref": dlq_id}
    assert shipping["CHAOS_SSM_PREFIX"] == TOPO.ssm_prefix
    assert shipping["ECOMSHOP_STAGE"] == "dev"


# -- tables, bus, saga, API ------------------------------------------------------------------
def test_tables_on_demand_with_ttl_and_pitr_from_the_topology(template: dict[str, Any]) -> None:
    tables = _by_name(template, "AWS::DynamoDB::Table", "TableName")
    for table in TOPO.tables:
        props = tables[TOPO.name(table.logical)]["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        pitr = props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled", False)
        assert pitr is table.point_in_time_recovery
        if table.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": table.ttl_attribute, "Enabled": True}
    assert tables[TOPO.name("orders")]["Properties"]["PointInTimeRecoverySpecification"][
        "PointInTimeRecoveryEnabled"] is True


def test_bus_rules_match_the_topology_and_park_failures_in_a_dlq(t: Template, template: dict[str, Any]) -> None:
    rules = _by_name(template, "AWS::Events::Rule", "Name")
    for rule in TOPO.rules:
        props = rules[TOPO.name(rule.logical)]["Properties"]
        assert props["EventPattern"] == rule.pattern
        (target,) = props["Targets"]
        assert "DeadLetterConfig" in target
    t.resource_count_is("AWS::Events::Archive", 1)
    t.has_resource_properties("AWS::Events::EventBus", {"Name": TOPO.name(TOPO.bus)})


def test_saga_from_the_asl_file_with_tracing_and_full_logging(t: Template, template: dict[str, Any]) -> None:
    (sm,) = resources(template, "AWS::StepFunctions::StateMachine").values()
    props = sm["Properties"]
    assert set(props["DefinitionSubstitutions"]) == set(TOPO.saga.substitutions)
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert "DefinitionS3Location" in props or "DefinitionString" in props


def test_rest_api_validates_throttles_logs_and_traces(t: Template) -> None:
    t.has_resource_properties("AWS::ApiGateway::RequestValidator",
                              {"ValidateRequestBody": True, "ValidateRequestParameters": True})
    t.has_resource_properties("AWS::ApiGateway::Stage", {
        "TracingEnabled": True,
        "AccessLogSetting": Match.object_like({"DestinationArn": Match.any_value()}),
        "MethodSettings": Match.array_with([Match.object_like(
            {"ThrottlingRateLimit": Match.any_value(), "ThrottlingBurstLimit": Match.any_value()})]),
    })
    t.has_resource_properties("AWS::ApiGateway::Method", {
        "HttpMethod": "POST", "RequestValidatorId": Match.any_value(),
        "RequestModels": {"application/json": Match.any_value()}})


def test_every_queue_consumer_has_a_bounded_concurrency(template: dict[str, Any]) -> None:
    mappings = resources(template, "AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == 6
    assert {m["Properties"]["ScalingConfig"]["MaximumConcurrency"] for m in mappings} == {10}


def test_every_api_method_requires_iam_authorization(template: dict[str, Any]) -> None:
    methods = resources(template, "AWS::ApiGateway::Method")
    assert {m["Properties"]["HttpMethod"] for m in methods.values()} == {"POST", "GET"}
    assert {m["Properties"].get("AuthorizationType") for m in methods.values()} == {"AWS_IAM"}


def test_api_schema_requires_what_the_order_model_requires(template: dict[str, Any]) -> None:
    (model,) = resources(template, "AWS::ApiGateway::Model").values()
    schema = model["Properties"]["Schema"]
    required = {n for n, f in OrderRequest.model_fields.items() if f.is_required()}
    assert set(schema["required"]) == required
    assert set(schema["properties"]) == set(OrderRequest.model_fields)
    item_required = {n for n, f in Item.model_fields.items() if f.is_required()}
    assert set(schema["properties"]["items"]["items"]["required"]) == item_required


# -- lake ------------------------------------------------------------------------------------
def test_lake_bucket_tiers_and_expires_after_seven_years(template: dict[str, Any]) -> None:
    buckets = resources(template, "AWS::S3::Bucket")
    lake = [b for b in buckets.values() if "LoggingConfiguration" in b["Properties"]]
    assert len(lake) == 1
    (rule,) = lake[0]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == 7 * 365
    assert [(tr["StorageClass"], tr["TransitionInDays"]) for tr in rule["Transitions"]] == [
        ("INTELLIGENT_TIERING", 30), ("GLACIER", 90), ("DEEP_ARCHIVE", 365)]
    for b in buckets.values():
        assert b["Properties"]["BucketEncryption"]
        assert b["Properties"]["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True


def test_kinesis_to_firehose_to_the_partitioned_lake_with_a_glue_crawler(template: dict[str, Any]) -> None:
    (stream,) = resources(template, "AWS::Kinesis::Stream").values()
    assert stream["Properties"]["StreamEncryption"]["EncryptionType"] == "KMS"
    (delivery,) = resources(template, "AWS::KinesisFirehose::DeliveryStream").values()
    s3 = delivery["Properties"]["ExtendedS3DestinationConfiguration"]
    assert s3["Prefix"] == TOPO.lake.prefix
    assert s3["ErrorOutputPrefix"] == TOPO.lake.error_prefix
    assert delivery["Properties"]["DeliveryStreamType"] == "KinesisStreamAsSource"
    (db,) = resources(template, "AWS::Glue::Database").values()
    (crawler,) = resources(template, "AWS::Glue::Crawler").values()
    assert crawler["Properties"]["DatabaseName"] == {"Ref": next(iter(resources(template, "AWS::Glue::Database")))}
    assert "orders/" in json.dumps(crawler["Properties"]["Targets"])
    assert db["Properties"]["DatabaseInput"]["Name"] == "ecom_dev_lake"


# -- alarms, dashboard -----------------------------------------------------------------------
def test_alarms_cover_dlqs_functions_api_queue_age_and_saga_and_notify_sns(template: dict[str, Any]) -> None:
    alarms = _by_name(template, "AWS::CloudWatch::Alarm", "AlarmName")
    (topic_id,) = resources(template, "AWS::SNS::Topic")
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
    for q in TOPO.queues:
        dlq = alarms[TOPO.name(f"alarm-{TOPO.dlq(q.logical)}-depth")]["Properties"]
        assert (dlq["Threshold"], dlq["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
        assert dlq["MetricName"] == "ApproximateNumberOfMessagesVisible"
        assert alarms[TOPO.name(f"alarm-{q.logical}-age")]["Properties"]["MetricName"] == (
            "ApproximateAgeOfOldestMessage")
    for fn in TOPO.functions:
        assert alarms[TOPO.name(f"alarm-{fn.logical}-errors")]["Properties"]["MetricName"] == "Errors"
    assert alarms[TOPO.name("alarm-api-5xx")]["Properties"]["MetricName"] == "5XXError"
    assert alarms[TOPO.name("alarm-saga-failed")]["Properties"]["MetricName"] == "ExecutionsFailed"


def test_dashboard_shows_business_and_system_views(template: dict[str, Any]) -> None:
    (dash,) = resources(template, "AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dash["Properties"]["DashboardBody"])
    for needle in ("OrdersPlaced", "BreakerOpened", "ApproximateAgeOfOldestMessage", "Duration", "4XXError",
                   "5XXError", "Latency", "ExecutionsFailed"):
        assert needle in body


def test_optional_email_subscription_is_a_parameter(template: dict[str, Any]) -> None:
    params = template["Parameters"]
    (email,) = [k for k in params if k.startswith("NotificationsAlarmEmail")]
    assert params[email]["Default"] == ""
    (sub,) = resources(template, "AWS::SNS::Subscription").values()
    assert sub["Condition"].startswith("NotificationsHasAlarmEmail")


# -- teardown, tags, least privilege ---------------------------------------------------------
def test_every_resource_is_deleted_with_the_stack_and_buckets_empty_themselves(
        template: dict[str, Any]) -> None:
    for lid, res in template["Resources"].items():
        assert res.get("DeletionPolicy", "Delete") == "Delete", lid
        assert res.get("UpdateReplacePolicy", "Delete") == "Delete", lid
    stateful = ("AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::Logs::LogGroup", "AWS::Kinesis::Stream",
                "AWS::SQS::Queue")
    for lid, res in template["Resources"].items():
        if res["Type"] in stateful:
            assert res.get("DeletionPolicy") == "Delete", f"{lid} relies on a default deletion policy"
    cleaners = [r["Properties"]["BucketName"] for r in resources(template, "Custom::S3AutoDeleteObjects").values()]
    assert sorted(json.dumps(c) for c in cleaners) == sorted(
        json.dumps({"Ref": b}) for b in resources(template, "AWS::S3::Bucket"))


def test_every_taggable_resource_carries_the_window_tags(template: dict[str, Any]) -> None:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    checked = 0
    for lid, res in template["Resources"].items():
        if res["Type"].startswith("Custom::"):
            continue
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", res["Type"]).schema
        if "Tags" not in schema.get("properties", {}):
            continue
        tags = res["Properties"].get("Tags")
        assert tags, f"{lid} ({res['Type']}) has no tags"
        found = ({t["Key"]: t["Value"] for t in tags} if isinstance(tags, list) else dict(tags))
        assert found.get("ecomctl:stage") == "dev", lid
        assert found.get("ecomctl:expires-at") == EXPIRES_AT, lid
        checked += 1
    assert checked > 60


# Actions AWS only authorizes on Resource "*" (no resource-level permissions).
STAR_ONLY_ACTIONS = {
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets",
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}


def _statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for lid, res in template["Resources"].items():
        if res["Type"] == "AWS::IAM::Policy":
            out += [(lid, s) for s in res["Properties"]["PolicyDocument"]["Statement"]]
        if res["Type"] == "AWS::IAM::Role":
            for p in res["Properties"].get("Policies", []):
                out += [(lid, s) for s in p["PolicyDocument"]["Statement"]]
    return out


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def test_least_privilege_no_wildcard_action_and_star_resource_only_where_the_api_requires_it(
        template: dict[str, Any]) -> None:
    statements = _statements(template)
    assert statements
    for lid, s in statements:
        actions = _as_list(s["Action"])
        assert "*" not in actions and not any(a.endswith(":*") for a in actions), (lid, actions)
        if "*" in _as_list(s["Resource"]):
            assert set(actions) <= STAR_ONLY_ACTIONS, (lid, actions)
    for lid, res in resources(template, "AWS::IAM::Role").items():
        for arn in res["Properties"].get("ManagedPolicyArns", []):
            text = json.dumps(arn)
            assert "AdministratorAccess" not in text and "FullAccess" not in text, (lid, text)


def test_flag_namespace_is_read_only_for_handlers(template: dict[str, Any]) -> None:
    ssm = [(lid, s) for lid, s in _statements(template) if any(a.startswith("ssm:") for a in _as_list(s["Action"]))]
    flagged = {fn.logical for fn in TOPO.functions if any(g.ref == "ssm_prefix" for g in fn.grants)}
    assert len(ssm) == len(flagged)
    for _, s in ssm:
        assert set(_as_list(s["Action"])) == {"ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"}
        assert TOPO.ssm_prefix.lstrip("/") in json.dumps(s["Resource"])


def test_synth_names_no_account_or_region(template: dict[str, Any]) -> None:
    """Environment-agnostic: nothing was looked up, so synth needed no credentials."""
    text = json.dumps(template)
    assert "123456789012" not in text and "us-east-1" not in text
